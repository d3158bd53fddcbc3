/**
 * Query parameters → the shared EventFilter (the same model as `portwarden search`). A bad
 * value is a PW_ERR_QUERY error, answered with 400 and a message naming the parameter.
 */
import { isIP } from 'node:net';
import { parseTimestampNs } from '../audit/clock.js';
import { parseDurationMs } from '../config/index.js';
import { PortwardenError } from '../errors.js';
import type { EventFilter } from '../store/index.js';

/** Every filter parameter the search, live and export endpoints take. */
export const FILTER_PARAMS = {
  listener: 'only this listener',
  action: 'only these actions, comma-separated (connection-open,db-query)',
  source: 'client address IP or IP:PORT ([v6]:PORT)',
  source_port: "the client's source port",
  upstream_local: "the gateway's own source endpoint toward the target, IP:PORT",
  port: 'any endpoint port of either leg',
  user: 'who acted',
  outcome: 'success, failure or unknown',
  since: 'RFC 3339 time or relative (15m, 7d)',
  until: 'RFC 3339 time or relative',
  text: 'words of the statement / command / path, in order (case-insensitive; trailing * = prefix)',
  connection: "one connection's id",
  community_id: 'Community ID v1 of the flow (either leg)',
  rule: 'rule.id of the policy decision',
  policy_version: 'policy.version (sha256:…)',
  db: 'db.namespace (the database)',
  operation: 'SQL operation, Redis command or HTTP method (any case)',
  class: 'statement class (read, write, ddl, …)',
  status: 'SQLSTATE, HTTP status or Redis error code',
  node: 'observer node id',
  order: 'newest (default) or oldest',
  after: 'keyset cursor: the `next` of the previous page',
  limit: 'page size, 1-1000 (default 100)',
} as const;

export type FilterQuery = Partial<Record<keyof typeof FILTER_PARAMS, string>>;

/** JSON schema of the filter query string (documentation; values are checked below). */
export const filterQuerySchema = {
  type: 'object',
  properties: Object.fromEntries(
    Object.entries(FILTER_PARAMS).map(([k, description]) => [k, { type: 'string', description }]),
  ),
} as const;

export const MAX_API_PAGE = 1000;

function bad(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_QUERY', { detail });
}

function parsePort(name: string, text: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535)
    throw bad(`${name}: expected a port 0-65535, got ${JSON.stringify(text)}`);
  return Number(text);
}

/** `IP`, `IP:PORT` or `[IPv6]:PORT`. */
export function parseEndpointParam(name: string, text: string): { ip: string; port?: number } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let ip = text;
  let port: string | undefined;
  if (bracket) {
    ip = bracket[1] ?? '';
    port = bracket[2];
  } else if (isIP(text) === 0) {
    const i = text.lastIndexOf(':');
    ip = i < 0 ? text : text.slice(0, i);
    port = i < 0 ? undefined : text.slice(i + 1);
  }
  if (isIP(ip) === 0) throw bad(`${name}: expected IP or IP:PORT, got ${JSON.stringify(text)}`);
  return port === undefined ? { ip } : { ip, port: parsePort(name, port) };
}

/** RFC 3339 or a duration before `now` (15m, 7d). */
export function parseTimeParam(name: string, text: string, now = Date.now()): bigint {
  const abs = parseTimestampNs(text);
  if (abs !== null) return abs;
  const rel = /^\d+(ms|s|m|h|d)$/.test(text) ? parseDurationMs(text) : null;
  if (rel !== null) return BigInt(now - rel) * 1_000_000n;
  throw bad(
    `${name}: expected a time like 2026-11-23T03:00:00Z or 15m / 7d, got ${JSON.stringify(text)}`,
  );
}

function parseCount(name: string, text: string, min: number, max: number): number {
  if (!/^\d{1,16}$/.test(text))
    throw bad(`${name}: expected an integer, got ${JSON.stringify(text)}`);
  const n = Number(text);
  if (n < min || n > max) throw bad(`${name}: expected ${min}-${max}, got ${n}`);
  return n;
}

/** Build the filter; unknown parameters are refused so a typo never widens a search. */
export function parseFilterQuery(
  query: Readonly<Record<string, unknown>>,
  allowed: readonly string[] = [],
): EventFilter {
  const q: FilterQuery = {};
  for (const [key, value] of Object.entries(query)) {
    if (allowed.includes(key)) continue;
    if (!(key in FILTER_PARAMS)) throw bad(`unknown parameter ${JSON.stringify(key)}`);
    if (typeof value !== 'string') throw bad(`${key}: give it once`);
    q[key as keyof FilterQuery] = value;
  }
  const f: {
    -readonly [K in keyof EventFilter]: EventFilter[K];
  } = {};
  if (q.listener !== undefined) f.listener = q.listener;
  if (q.action !== undefined) {
    const actions = q.action.split(',').filter((a) => a !== '');
    for (const a of actions)
      if (!/^[a-z][a-z0-9-]{0,63}$/.test(a))
        throw bad(`action: ${JSON.stringify(a)} is not an action name`);
    f.actions = actions;
  }
  if (q.source !== undefined) {
    const ep = parseEndpointParam('source', q.source);
    f.sourceIp = ep.ip;
    if (ep.port !== undefined) f.sourcePort = ep.port;
  }
  if (q.source_port !== undefined) f.sourcePort = parsePort('source_port', q.source_port);
  if (q.upstream_local !== undefined) {
    const ep = parseEndpointParam('upstream_local', q.upstream_local);
    f.upstreamLocalIp = ep.ip;
    if (ep.port !== undefined) f.upstreamLocalPort = ep.port;
  }
  if (q.port !== undefined) f.port = parsePort('port', q.port);
  if (q.user !== undefined) f.user = q.user;
  if (q.outcome !== undefined) {
    if (!['success', 'failure', 'unknown'].includes(q.outcome))
      throw bad(`outcome: expected success, failure or unknown, got ${JSON.stringify(q.outcome)}`);
    f.outcome = q.outcome;
  }
  if (q.since !== undefined) f.sinceNs = parseTimeParam('since', q.since);
  if (q.until !== undefined) f.untilNs = parseTimeParam('until', q.until);
  if (f.sinceNs !== undefined && f.untilNs !== undefined && f.untilNs <= f.sinceNs)
    throw bad('until must be after since');
  if (q.text !== undefined) f.text = q.text;
  if (q.connection !== undefined) f.connectionId = q.connection;
  if (q.community_id !== undefined) f.communityId = q.community_id;
  if (q.rule !== undefined) f.rule = q.rule;
  if (q.policy_version !== undefined) f.policyVersion = q.policy_version;
  if (q.db !== undefined) f.db = q.db;
  if (q.operation !== undefined) f.operation = q.operation;
  if (q.class !== undefined) f.statementClass = q.class;
  if (q.status !== undefined) f.status = q.status;
  if (q.node !== undefined) f.node = q.node;
  if (q.order !== undefined) {
    if (q.order !== 'newest' && q.order !== 'oldest')
      throw bad(`order: expected newest or oldest, got ${JSON.stringify(q.order)}`);
    f.order = q.order;
  }
  if (q.after !== undefined) f.after = parseCount('after', q.after, 0, Number.MAX_SAFE_INTEGER);
  f.limit = q.limit !== undefined ? parseCount('limit', q.limit, 1, MAX_API_PAGE) : 100;
  return f;
}
