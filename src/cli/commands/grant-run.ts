/**
 * `portwarden grant`, `grant list` and `grant revoke` when they run (grant.ts defines the
 * commands; this loads the grant book, the config and the store).
 */
import { existsSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Command } from 'commander';
import type { JsonObject } from '../../audit/event.js';
import { uuidv7 } from '../../audit/ids.js';
import { parseDurationMs } from '../../config/address.js';
import { gatewayRunning } from '../../gateway/index.js';
import {
  GRANT_OPERATIONS,
  GrantBook,
  MAX_GRANT_MS,
  grantChangeOf,
  pendingGrantRequests,
  writeGrantRequest,
  type GrantRequest,
} from '../../identity/index.js';
import {
  dataDirFromOptions,
  loadFromOptions,
  openStoreForReading,
  storeExists,
} from '../data-dir.js';
import { globalOptions, usage } from '../io.js';
import type { GrantFlags } from './grant.js';
import { apiTarget, callApi, type ApiTarget } from './grant-api.js';

const OPERATIONS: readonly string[] = GRANT_OPERATIONS;
const HANDOFF_WAIT_MS = 5000;

/** Who is granting locally: the OS user running the CLI. */
function granter(): string {
  const u = userInfo();
  return `${u.username} (uid ${u.uid}, cli)`;
}

/** Who asks through the API (self-reported; the API records its token's name as granter). */
function requester(): string {
  const u = userInfo();
  return `${u.username}@${hostname()} (uid ${u.uid}, cli)`;
}

interface ApiFlags {
  api?: string;
  tokenFile?: string;
}

/** The API target from the (parent's) --api and --token-file, or null. */
function apiOf(command: Command): ApiTarget | null {
  return apiTarget(command.optsWithGlobals<ApiFlags>());
}

interface ApiGrant {
  id: string;
  identity: string;
  listener: string;
  expires: string;
  active: boolean;
  operations: string[];
  reason: string;
  granted_by: string;
}

function grantLine(g: {
  id: string;
  identity: string;
  listener: string;
  expires: string;
  expired: boolean;
  operations: readonly string[];
  reason: string;
}): string {
  return [
    g.id.padEnd(38),
    g.identity.padEnd(13),
    g.listener.padEnd(13),
    `${g.expires}${g.expired ? '*' : ' '}`.padEnd(25),
    (g.operations.join(',') || 'all').padEnd(11),
    g.reason,
  ].join(' ');
}

const HEADER =
  'ID                                     IDENTITY      LISTENER      EXPIRES                   OPERATIONS  REASON';

/** Check identity and listener against the config when one is there. */
async function checkAgainstConfig(
  command: Command,
  identity: string,
  listener: string,
): Promise<void> {
  const file = globalOptions(command).config ?? 'portwarden.yaml';
  if (!existsSync(file)) return;
  const config = (await loadFromOptions(command)).config;
  if (!config.identities.some((i) => i.name === identity))
    throw usage(`no identity "${identity}" in ${file}`);
  if (!config.listeners.some((l) => l.name === listener))
    throw usage(`no listener "${listener}" in ${file}`);
}

/** Hand a request to the gateway; wait for a running one to take it. */
async function handOff(dataDir: string, request: GrantRequest): Promise<string> {
  const file = writeGrantRequest(dataDir, request);
  if (gatewayRunning(dataDir) === null)
    return 'no gateway is running: the request is queued and recorded when it starts';
  const until = Date.now() + HANDOFF_WAIT_MS;
  while (Date.now() < until) {
    if (!existsSync(file)) return 'recorded by the running gateway';
    await new Promise((r) => setTimeout(r, 100));
  }
  return 'queued; the running gateway has not taken it yet (check its log)';
}

/** `grant list`. */
export async function runGrantList(
  flags: { readonly all?: boolean },
  command: Command,
): Promise<number> {
  const api = apiOf(command);
  if (api !== null) {
    const answer = (await callApi(
      api,
      'GET',
      `/api/v1/grants${flags.all === true ? '?all=true' : ''}`,
    )) as { grants: ApiGrant[] };
    const lines = [HEADER];
    for (const g of answer.grants) lines.push(grantLine({ ...g, expired: !g.active }));
    process.stdout.write(`${lines.join('\n')}\n`);
    return 0;
  }
  const dataDir = await dataDirFromOptions(command);
  const book = new GrantBook();
  if (storeExists(dataDir)) {
    const store = openStoreForReading(dataDir);
    try {
      for (let after: number | null = -1; after !== null;) {
        const page = store.search({
          actions: ['grant'],
          order: 'oldest',
          after,
          limit: 1000,
        });
        for (const row of page.rows) {
          const change = row.body ? grantChangeOf(JSON.parse(row.body) as JsonObject) : null;
          if (change) book.apply(change);
        }
        after = page.next;
      }
    } finally {
      store.close();
    }
  }
  const now = Date.now();
  const lines = [HEADER];
  for (const g of book.list(now, flags.all === true)) {
    lines.push(
      grantLine({
        ...g,
        expires: new Date(g.expiresMs).toISOString(),
        expired: g.expiresMs <= now,
      }),
    );
  }
  for (const p of pendingGrantRequests(dataDir))
    if (p.request) lines.push(`(pending ${p.request.change} ${p.request.id})`);
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `grant revoke ID`. */
export async function runGrantRevoke(id: string, command: Command): Promise<number> {
  // --reason is the parent's option too: commander hands it to `grant`.
  const reason = command.optsWithGlobals<{ reason?: string }>().reason;
  if (!reason) throw usage('grant revoke needs --reason');
  const api = apiOf(command);
  if (api !== null) {
    const answer = (await callApi(api, 'DELETE', `/api/v1/grants/${encodeURIComponent(id)}`, {
      reason,
      requested_by: requester(),
    })) as { revoked_by: string };
    process.stdout.write(`revoke ${id}: recorded through the API (token ${answer.revoked_by})\n`);
    return 0;
  }
  const dataDir = await dataDirFromOptions(command);
  const status = await handOff(dataDir, {
    change: 'revoke',
    id,
    revoked_by: granter(),
    reason,
  });
  process.stdout.write(`revoke ${id}: ${status}\n`);
  return 0;
}

/** `grant --identity … --listener … --for … --reason …`. */
export async function runGrant(flags: GrantFlags, command: Command): Promise<number> {
  const { identity, listener, reason } = flags;
  if (!identity || !listener || !flags.for || !reason)
    throw usage('grant needs --identity, --listener, --for and --reason');
  const ms = parseDurationMs(flags.for);
  if (ms === null || ms <= 0 || ms > MAX_GRANT_MS)
    throw usage(`--for: expected a duration like 2h (at most 366d), got ${flags.for}`);
  const operations = flags.operations ? flags.operations.split(',').map((o) => o.trim()) : [];
  const bad = operations.filter((o) => !OPERATIONS.includes(o));
  if (bad.length > 0) throw usage(`--operations: unknown ${bad.join(', ')}`);
  const api = apiOf(command);
  if (api !== null) {
    const answer = (await callApi(api, 'POST', '/api/v1/grants', {
      identity,
      listener,
      for: flags.for,
      reason,
      operations,
      requested_by: requester(),
    })) as { grant: ApiGrant };
    const g = answer.grant;
    process.stdout.write(
      `grant ${g.id}: ${identity} on ${listener} until ${g.expires}: recorded through the API (token ${g.granted_by})\n`,
    );
    return 0;
  }
  await checkAgainstConfig(command, identity, listener);
  const dataDir = await dataDirFromOptions(command);
  const id = uuidv7();
  const expires = new Date(Date.now() + ms).toISOString();
  const status = await handOff(dataDir, {
    change: 'create',
    id,
    identity,
    listener,
    expires,
    reason,
    operations,
    granted_by: granter(),
  });
  process.stdout.write(`grant ${id}: ${identity} on ${listener} until ${expires}: ${status}\n`);
  return 0;
}
