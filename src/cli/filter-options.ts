/** The search/tail filter flags (DESIGN §9), turned into the shared EventFilter. */
import { type Command, Option } from 'commander';
import { isIP } from 'node:net';
import type { EventFilter } from '../store/index.js';
import { usage } from './io.js';
import { parseTimeArg } from './time.js';

export interface FilterFlags {
  readonly listener?: string;
  readonly action?: string[];
  readonly source?: string;
  readonly port?: string;
  readonly user?: string;
  readonly outcome?: string;
  readonly since?: string;
  readonly until?: string;
  readonly text?: string;
  readonly connection?: string;
  readonly communityId?: string;
  readonly rule?: string;
  readonly policyVersion?: string;
  readonly db?: string;
  readonly operation?: string;
  readonly class?: string;
  readonly status?: string;
  readonly node?: string;
  readonly limit?: string;
  readonly order?: 'newest' | 'oldest';
  readonly after?: string;
}

export function addFilterOptions(cmd: Command): Command {
  return cmd
    .option('--listener <name>', 'only this listener')
    .option('--action <action...>', 'only these actions (connection-open, db-query, …)')
    .option('--source <ip[:port]>', 'client address (and source port)')
    .option('--port <n>', 'any endpoint port of either leg')
    .option('--user <name>', 'who acted')
    .addOption(
      new Option('--outcome <outcome>', 'success or failure').choices([
        'success',
        'failure',
        'unknown',
      ]),
    )
    .option('--since <time>', 'RFC 3339 or relative (15m, 7d)')
    .option('--until <time>', 'RFC 3339 or relative')
    .option(
      '--text <words>',
      'statement / command / path has these words in this order (trailing * = prefix)',
    )
    .option('--connection <id>', "one connection's whole story (use with --order oldest)")
    .option('--community-id <id>', 'the flow as Zeek or Suricata names it (either leg)')
    .option('--rule <id>', 'decided by this policy rule')
    .option('--policy-version <version>', 'decided under this policy version')
    .option('--db <name>', 'database (db.namespace)')
    .option('--operation <op>', 'SQL operation, Redis command or HTTP method (SELECT, GET)')
    .option('--class <class>', 'statement class (read, write, ddl, …)')
    .option('--status <code>', 'SQLSTATE, HTTP status or Redis error code')
    .option('--node <id>', 'observer node');
}

/** Parse `IP`, `IP:PORT` or `[IPv6]:PORT`. */
export function parseEndpoint(text: string): { ip: string; port?: number } {
  const bracket = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  let ip = text;
  let port: string | undefined;
  if (bracket) {
    ip = bracket[1] ?? '';
    port = bracket[2];
  } else if (isIP(text) === 0) {
    const i = text.lastIndexOf(':');
    ip = text.slice(0, i);
    port = text.slice(i + 1);
  }
  if (isIP(ip) === 0) throw usage(`expected IP or IP:PORT, got "${text}"`);
  if (port === undefined) return { ip };
  const n = parsePort(port, text);
  return { ip, port: n };
}

function parsePort(text: string, whole: string): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535)
    throw usage(`expected a port 0-65535 in "${whole}"`);
  return Number(text);
}

export function toFilter(f: FilterFlags): EventFilter {
  const src = f.source !== undefined ? parseEndpoint(f.source) : undefined;
  const limit = f.limit !== undefined ? Number(f.limit) : undefined;
  if (limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw usage(`--limit must be a positive integer, got "${f.limit}"`);
  return {
    ...(f.listener !== undefined ? { listener: f.listener } : {}),
    ...(f.action !== undefined ? { actions: f.action } : {}),
    ...(src ? { sourceIp: src.ip } : {}),
    ...(src?.port !== undefined ? { sourcePort: src.port } : {}),
    ...(f.port !== undefined ? { port: parsePort(f.port, f.port) } : {}),
    ...(f.user !== undefined ? { user: f.user } : {}),
    ...(f.outcome !== undefined ? { outcome: f.outcome } : {}),
    ...(f.since !== undefined ? { sinceNs: parseTimeArg(f.since) } : {}),
    ...(f.until !== undefined ? { untilNs: parseTimeArg(f.until) } : {}),
    ...(f.text !== undefined ? { text: f.text } : {}),
    ...(f.connection !== undefined ? { connectionId: f.connection } : {}),
    ...(f.communityId !== undefined ? { communityId: f.communityId } : {}),
    ...(f.rule !== undefined ? { rule: f.rule } : {}),
    ...(f.policyVersion !== undefined ? { policyVersion: f.policyVersion } : {}),
    ...(f.db !== undefined ? { db: f.db } : {}),
    ...(f.operation !== undefined ? { operation: f.operation } : {}),
    ...(f.class !== undefined ? { statementClass: f.class } : {}),
    ...(f.status !== undefined ? { status: f.status } : {}),
    ...(f.node !== undefined ? { node: f.node } : {}),
    ...(limit !== undefined ? { limit } : {}),
    ...(f.order !== undefined ? { order: f.order } : {}),
    ...(f.after !== undefined ? { after: parseCursor(f.after) } : {}),
  };
}

function parseCursor(text: string): number {
  if (!/^\d+$/.test(text)) throw usage(`--after must be a sequence number, got "${text}"`);
  return Number(text);
}
