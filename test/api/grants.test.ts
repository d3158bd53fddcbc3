/**
 * Grants through the API and through `portwarden grant --api`: a real in-process gateway with
 * a Redis listener whose policy requires a grant, the API bound on port 0. An admin token
 * creates, lists and revokes grants; the records name the token (never its value); a viewer
 * or auditor token is refused 403 (and recorded); bad bodies are refused 400; redis-cli as
 * alice is allowed exactly while the grant stands.
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, type ApiServer } from '../../src/api/index.js';
import type { JsonObject } from '../../src/audit/event.js';
import { buildProgram } from '../../src/cli/program.js';
import { tokenSha256 } from '../../src/identity/index.js';
import { compilePolicies } from '../../src/policy/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const secret = (what: string): string => `${what}-${randomBytes(16).toString('hex')}`;
const TOKENS = { viewer: secret('viewer'), auditor: secret('auditor'), admin: secret('admin') };
const ALICE = secret('alice');
const KEY = `pw:it:api-grant:${process.pid}`;
const bearer = (role: keyof typeof TOKENS): Record<string, string> => ({
  authorization: `Bearer ${TOKENS[role]}`,
});

let gw: TestGateway;
let api: ApiServer;
let base: string;
let dir: string;
const logLines: string[] = [];
const outputs: string[] = [];

function redisGet(): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', [
      '-h',
      '127.0.0.1',
      '-p',
      String(gw.port('cache')),
      '--user',
      'alice',
      '--pass',
      ALICE,
      '--no-auth-warning',
      'GET',
      KEY,
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out.trim()));
    child.stdin.end();
  });
}

/** `portwarden …` in process: stdout, stderr and the exit code. */
async function cli(args: readonly string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const write = process.stdout.write.bind(process.stdout);
  const writeErr = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    out += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string | Uint8Array): boolean => {
    err += chunk.toString();
    return true;
  }) as typeof process.stderr.write;
  let code: number;
  try {
    await buildProgram().parseAsync(['--data-dir', gw.dataDir, ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
    process.stderr.write = writeErr;
    code = typeof process.exitCode === 'number' ? process.exitCode : 0;
    process.exitCode = 0;
  }
  outputs.push(out, err);
  return { code, out, err };
}

function tokenFile(role: keyof typeof TOKENS): string {
  const f = join(dir, `${role}.token`);
  writeFileSync(f, `${TOKENS[role]}\n`, { mode: 0o600 });
  return f;
}

function grantRecords(): JsonObject[] {
  return byAction(gw.events(), 'grant');
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pw-api-grants-'));
  const policies = {
    jit: { default: 'deny', rules: [{ id: 'jit', allow: { grant: 'required' } }] },
  };
  const compiled = compilePolicies(policies);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  gw = await startGateway({
    listeners: [
      {
        name: 'cache',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:6379',
        protocol: 'redis',
        policy: 'jit',
        auth: 'gateway',
      },
    ],
    policies,
    gatewayOptions: { policies: compiled.policies },
    extra: {
      identities: [{ name: 'alice', credentials: [{ type: 'token', sha256: tokenSha256(ALICE) }] }],
      api: {
        listen: '127.0.0.1:0',
        tokens: [
          { name: 'grafana', role: 'viewer', token_sha256: sha(TOKENS.viewer) },
          { name: 'audit-team', role: 'auditor', token_sha256: sha(TOKENS.auditor) },
          { name: 'ops-oncall', role: 'admin', token_sha256: sha(TOKENS.admin) },
        ],
      },
    },
  });
  api = await createApiServer({
    gateway: gw.gateway,
    log: pino({ level: 'debug' }, { write: (l: string) => void logLines.push(l) }),
    webRoot: null,
    processMetrics: false,
    listen: { host: '127.0.0.1', port: 0 },
  });
  const bound = await api.listen();
  base = `http://127.0.0.1:${bound.port}`;
  const { Redis } = await import('ioredis');
  const direct = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await direct.connect();
  await direct.set(KEY, 'v1', 'EX', 300);
  direct.disconnect();
});

afterAll(async () => {
  await api.close();
  await gw.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('POST/GET/DELETE /api/v1/grants', () => {
  let id = '';

  it('an admin token creates a grant: recorded with the token name, policy sees it at once', async () => {
    expect(await redisGet()).toContain('NOPERM');
    const res = await api.app.inject({
      method: 'POST',
      url: '/api/v1/grants',
      headers: bearer('admin'),
      payload: {
        identity: 'alice',
        listener: 'cache',
        for: '1h',
        reason: 'INC-1234',
        operations: ['read'],
        requested_by: 'bob@laptop',
      },
    });
    expect(res.statusCode).toBe(201);
    const grant = res.json<{ grant: Record<string, unknown> }>().grant;
    expect(grant).toMatchObject({
      identity: 'alice',
      listener: 'cache',
      active: true,
      operations: ['read'],
      reason: 'INC-1234',
      granted_by: 'ops-oncall',
      api_token: 'ops-oncall',
      requested_by: 'bob@laptop',
    });
    id = String(grant['id']);
    // Answered after the commit: the grant book already has it.
    expect(await redisGet()).toBe('v1');
    const rec = grantRecords().find((e) => field(e, 'grant.id') === id) as JsonObject;
    expect(field(rec, 'user.name')).toBe('ops-oncall');
    expect(field(rec, 'user.target.name')).toBe('alice');
    expect(field(rec, 'grant.granted_by')).toBe('ops-oncall');
    expect(field(rec, 'grant.api_token')).toBe('ops-oncall');
    expect(field(rec, 'grant.requested_by')).toBe('bob@laptop');
    expect(field(rec, 'grant.via')).toBe('api');
    expect(field(rec, 'source.ip')).toBeTypeOf('string');
  });

  it('lists grants for any token role', async () => {
    const res = await api.app.inject({ url: '/api/v1/grants', headers: bearer('viewer') });
    expect(res.statusCode).toBe(200);
    const grants = res.json<{ grants: Record<string, unknown>[] }>().grants;
    // Read back from the committed record by the grant book.
    expect(grants.find((g) => g['id'] === id)).toMatchObject({
      granted_by: 'ops-oncall',
      api_token: 'ops-oncall',
      requested_by: 'bob@laptop',
      operations: ['read'],
      active: true,
    });
    const all = await api.app.inject({ url: '/api/v1/grants?all=true', headers: bearer('viewer') });
    expect(all.statusCode).toBe(200);
  });

  it('refuses viewer and auditor tokens 403 and no token 401, and records the refusals', async () => {
    const before = grantRecords().length;
    const body = { identity: 'alice', listener: 'cache', for: '1h', reason: 'x' };
    for (const role of ['viewer', 'auditor'] as const) {
      const post = await api.app.inject({
        method: 'POST',
        url: '/api/v1/grants',
        headers: bearer(role),
        payload: body,
      });
      expect(post.statusCode).toBe(403);
      expect(post.json<{ error: { code: string } }>().error.code).toBe('PW_ERR_API_AUTH');
      const del = await api.app.inject({
        method: 'DELETE',
        url: `/api/v1/grants/${id}`,
        headers: bearer(role),
        payload: { reason: 'x' },
      });
      expect(del.statusCode).toBe(403);
    }
    const none = await api.app.inject({ method: 'POST', url: '/api/v1/grants', payload: body });
    expect(none.statusCode).toBe(401);
    expect(grantRecords()).toHaveLength(before);
    const refused = (evs: JsonObject[]): unknown[] =>
      byAction(evs, 'api-request')
        .filter(
          (e) =>
            field(e, 'url.path') === '/api/v1/grants' &&
            field(e, 'http.request.method') === 'POST' &&
            field(e, 'http.response.status_code') === 403,
        )
        .map((e) => field(e, 'user.name'))
        .sort();
    await gw.waitForEvents((evs) => refused(evs).length === 2);
    expect(refused(gw.events())).toEqual(['audit-team', 'grafana']);
  });

  it('refuses bad bodies with 400 (an unknown key never widens a grant)', async () => {
    const before = grantRecords().length;
    const good = { identity: 'alice', listener: 'cache', for: '1h', reason: 'x' };
    const bad: [Record<string, unknown> | string, RegExp][] = [
      [{ ...good, operation: ['read'] }, /operation/],
      [{ ...good, identity: 'mallory' }, /no identity "mallory"/],
      [{ ...good, listener: 'nope' }, /no listener "nope"/],
      [{ ...good, for: 'soon' }, /for: expected a duration/],
      [{ ...good, for: '400d' }, /at most 366d/],
      [{ ...good, for: '0s' }, /for: expected a duration/],
      [{ ...good, operations: ['drop-everything'] }, /operations/],
      [{ ...good, reason: '' }, /reason/],
      [{ ...good, reason: 'x'.repeat(501) }, /reason/],
      [{ identity: 'alice' }, /listener/],
      ['{"identity": "alice", ', /./],
      ['[1,2,3]', /./],
    ];
    for (const [payload, why] of bad) {
      const res = await api.app.inject({
        method: 'POST',
        url: '/api/v1/grants',
        headers: { ...bearer('admin'), 'content-type': 'application/json' },
        payload: typeof payload === 'string' ? payload : JSON.stringify(payload),
      });
      expect(`${JSON.stringify(payload).slice(0, 60)} ${res.statusCode}`).toMatch(/ 400$/);
      expect(res.json<{ error: { message: string } }>().error.message).toMatch(why);
    }
    const unknown = await api.app.inject({
      method: 'DELETE',
      url: '/api/v1/grants/0000-no-such-grant',
      headers: bearer('admin'),
      payload: { reason: 'x' },
    });
    expect(unknown.statusCode).toBe(404);
    const noReason = await api.app.inject({
      method: 'DELETE',
      url: `/api/v1/grants/${id}`,
      headers: bearer('admin'),
      payload: {},
    });
    expect(noReason.statusCode).toBe(400);
    expect(grantRecords()).toHaveLength(before);
  });

  it('an admin token revokes: recorded with the token name, policy denies at once', async () => {
    const res = await api.app.inject({
      method: 'DELETE',
      url: `/api/v1/grants/${id}`,
      headers: bearer('admin'),
      payload: { reason: 'fixed' },
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ revoked: { id }, revoked_by: 'ops-oncall' });
    expect(await redisGet()).toContain('NOPERM');
    const rec = grantRecords().find(
      (e) => field(e, 'grant.id') === id && field(e, 'grant.change') === 'revoke',
    ) as JsonObject;
    expect(field(rec, 'user.name')).toBe('ops-oncall');
    expect(field(rec, 'grant.revoked_by')).toBe('ops-oncall');
    expect(field(rec, 'grant.api_token')).toBe('ops-oncall');
    expect(field(rec, 'event.reason')).toBe('fixed');
    const again = await api.app.inject({
      method: 'DELETE',
      url: `/api/v1/grants/${id}`,
      headers: bearer('admin'),
      payload: { reason: 'twice' },
    });
    expect(again.statusCode).toBe(404);
  });

  it('documents the grant routes in the OpenAPI document', async () => {
    const doc = (await api.app.inject({ url: '/api/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, unknown>>;
    }>();
    expect(Object.keys(doc.paths['/api/v1/grants'] ?? {}).sort()).toEqual(['get', 'post']);
    expect(Object.keys(doc.paths['/api/v1/grants/{id}'] ?? {})).toEqual(['delete']);
  });
});

describe('portwarden grant --api URL --token-file F', () => {
  it('creates, lists and revokes through the API; the records name the admin token', async () => {
    const admin = ['--api', base, '--token-file', tokenFile('admin')];
    const made = await cli([
      'grant',
      '--identity',
      'alice',
      '--listener',
      'cache',
      '--for',
      '2h',
      '--reason',
      'INC-77',
      ...admin,
    ]);
    expect(made.err).toBe('');
    expect(made.code).toBe(0);
    const match =
      /grant (\S+): alice on cache until \S+: recorded through the API \(token ops-oncall\)/.exec(
        made.out,
      );
    expect(match).not.toBeNull();
    const id = match?.[1] ?? '';
    expect(await redisGet()).toBe('v1');
    const rec = grantRecords().find((e) => field(e, 'grant.id') === id) as JsonObject;
    expect(field(rec, 'grant.api_token')).toBe('ops-oncall');
    expect(String(field(rec, 'grant.requested_by'))).toMatch(/@.* \(uid \d+, cli\)$/);

    const listed = await cli(['grant', 'list', ...admin]);
    expect(listed.code).toBe(0);
    expect(listed.out).toContain(id);
    expect(listed.out).toContain('INC-77');

    const revoked = await cli(['grant', 'revoke', id, '--reason', 'done', ...admin]);
    expect(revoked.code).toBe(0);
    expect(revoked.out).toBe(`revoke ${id}: recorded through the API (token ops-oncall)\n`);
    expect(await redisGet()).toContain('NOPERM');
    expect((await cli(['grant', 'list', ...admin])).out).not.toContain(id);
  });

  it('a viewer token is refused 403: exit 2, PW_ERR_API_CALL, nothing granted', async () => {
    const before = grantRecords().length;
    const r = await cli([
      'grant',
      '--identity',
      'alice',
      '--listener',
      'cache',
      '--for',
      '2h',
      '--reason',
      'sneaky',
      '--api',
      base,
      '--token-file',
      tokenFile('viewer'),
    ]);
    expect(r.code).toBe(2);
    expect(r.err).toContain('PW_ERR_API_CALL');
    expect(r.err).toContain('HTTP 403 PW_ERR_API_AUTH: role viewer may not call this');
    expect(grantRecords()).toHaveLength(before);
  });

  it('says so when the API is not there, or --token-file is missing', async () => {
    const port = await freePort();
    const gone = await cli([
      'grant',
      'list',
      '--api',
      `http://127.0.0.1:${port}`,
      '--token-file',
      tokenFile('admin'),
    ]);
    expect(gone.code).toBe(2);
    expect(gone.err).toMatch(
      /PW_ERR_API_CALL: API call GET http:\/\/127\.0\.0\.1:\d+\/api\/v1\/grants failed: .*ECONNREFUSED/,
    );
    const noFile = await cli(['grant', 'list', '--api', base]);
    expect(noFile.code).toBe(2);
    expect(noFile.err).toContain('--api needs --token-file');
  });
});

describe('secrets', () => {
  it('no token value in any record, log line or command output', () => {
    const records = gw
      .events()
      .map((e) => JSON.stringify(e))
      .join('\n');
    const logs = logLines.join('');
    const printed = outputs.join('');
    for (const t of [...Object.values(TOKENS), ALICE]) {
      expect(records).not.toContain(t);
      expect(logs).not.toContain(t);
      expect(printed).not.toContain(t);
    }
  });
});
