/**
 * A recorded decision read back as the facts policy saw: which connection (listener, source,
 * user, database, application, TLS subject, local process), which action (SQL statement,
 * Redis command, HTTP request) or the connection itself, when, and what was decided then.
 * Every record of a connection carries its identity, so one record is enough.
 */
import type { JsonObject, JsonValue } from '../audit/event.js';
import type { ActionFacts, ConnectionFacts, SqlClass } from './action.js';

/** The actions whose records hold a policy decision. */
export const REPLAYABLE_ACTIONS = [
  'connection-open',
  'db-query',
  'redis-command',
  'http-request',
] as const;

/** One recorded decision, as facts. */
export interface RecordedDecision {
  readonly sequence: number;
  readonly time: string;
  readonly at: Date;
  readonly listener: string;
  readonly action: (typeof REPLAYABLE_ACTIONS)[number];
  readonly conn: ConnectionFacts;
  /** Absent for connection-open (decided at accept). */
  readonly request?: ActionFacts;
  /** What the gateway decided when the record was made. */
  readonly was: 'allow' | 'deny';
  readonly ruleId?: string;
  /** A short description: statement text, command, request line, or the source. */
  readonly subject: string;
}

const SQL_CLASSES: readonly SqlClass[] = ['read', 'write', 'ddl', 'dcl', 'tcl', 'other', 'unknown'];

/**
 * The recorded decision in a record, or null when the record holds none (another action,
 * a connection refused before policy was asked, a statement not run because another
 * statement of the same query was denied).
 */
export function recordedDecision(record: JsonObject): RecordedDecision | null {
  const event = obj(record.event);
  const action = REPLAYABLE_ACTIONS.find((a) => a === event.action);
  const listener = str(obj(record.listener).name);
  const time = str(record['@timestamp']);
  const at = new Date(time);
  if (action === undefined || listener === '' || Number.isNaN(at.getTime())) return null;
  const reason = str(event.reason);
  const type = Array.isArray(event.type) ? event.type : [];
  const denied = type.includes('denied');
  if (action === 'connection-open' && denied && reason !== 'policy') return null;
  if (reason.startsWith('not run:')) return null;
  const source = obj(record.source);
  const sourceIp = str(source.ip);
  const sourcePort = typeof source.port === 'number' ? source.port : 0;
  const ruleId = obj(record.rule).id;
  const base = {
    sequence: typeof event.sequence === 'number' ? event.sequence : -1,
    time,
    at,
    listener,
    action,
    conn: connectionFacts(record, listener, sourceIp, sourcePort, action === 'connection-open'),
    was: denied ? ('deny' as const) : ('allow' as const),
    ...(typeof ruleId === 'string' ? { ruleId } : {}),
  };
  if (action === 'connection-open') return { ...base, subject: `${sourceIp}:${sourcePort}` };
  const request = requestFacts(action, record);
  if (request === null) return null;
  return { ...base, request: request.facts, subject: request.subject };
}

function connectionFacts(
  record: JsonObject,
  listener: string,
  sourceIp: string,
  sourcePort: number,
  atAccept: boolean,
): ConnectionFacts {
  const proc = obj(record.process);
  const exe = proc.executable;
  const uid = obj(proc.user).id;
  const pid = proc.pid;
  // The gateway records `process` only when it looked the client up and found it.
  const process =
    typeof exe === 'string' && typeof uid === 'number' && typeof pid === 'number'
      ? { exe, uid, pid }
      : null;
  if (atAccept) return { listener, sourceIp, sourcePort, process };
  const user = obj(record.user).name;
  const session = obj(record.session);
  const database = session.database ?? obj(record.db).namespace;
  const application = session.application;
  const tlsSubject = session.tls_subject;
  return {
    listener,
    sourceIp,
    sourcePort,
    process,
    ...(typeof user === 'string' ? { user } : {}),
    ...(typeof database === 'string' ? { database } : {}),
    ...(typeof application === 'string' ? { application } : {}),
    ...(typeof tlsSubject === 'string' ? { tlsSubject } : {}),
  };
}

function requestFacts(
  action: 'db-query' | 'redis-command' | 'http-request',
  record: JsonObject,
): { facts: ActionFacts; subject: string } | null {
  if (action === 'db-query') {
    const db = obj(record.db);
    const query = obj(db.query);
    const text = str(query.text);
    const sqlClass = SQL_CLASSES.find((c) => c === query.class) ?? 'unknown';
    const system = str(db.system);
    return {
      facts: {
        protocol: system === 'postgresql' ? 'postgres' : 'mysql',
        sqlClass,
        operation: str(db.operation),
        tables: strings(query.tables),
        text,
      },
      subject: text,
    };
  }
  if (action === 'redis-command') {
    const redis = obj(record.redis);
    const command = str(redis.command);
    if (command === '') return null;
    return {
      facts: {
        protocol: 'redis',
        command,
        categories: strings(redis.acl_categories),
        ...keys(redis),
      },
      subject: typeof redis.key === 'string' ? `${command} ${redis.key}` : command,
    };
  }
  const method = str(obj(obj(record.http).request).method);
  const url = obj(record.url);
  const path = str(url.path);
  if (method === '' || path === '') return null;
  const host = url.domain;
  return {
    facts: { protocol: 'http', method, path, ...(typeof host === 'string' ? { host } : {}) },
    subject: `${method} ${path}`,
  };
}

/**
 * A redis-command record's keys: `keys` when it had several (up to 64 recorded, out of
 * `keys_count`), else `key`; incomplete when truncated or when more were counted than listed.
 */
function keys(redis: Record<string, JsonValue>): { keys: string[]; keysComplete: boolean } {
  const listed = Array.isArray(redis.keys)
    ? strings(redis.keys)
    : typeof redis.key === 'string'
      ? [redis.key]
      : [];
  const count = typeof redis.keys_count === 'number' ? redis.keys_count : listed.length;
  return { keys: listed, keysComplete: redis.keys_truncated !== true && count <= listed.length };
}

function obj(value: unknown): Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, JsonValue>)
    : {};
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((x): x is string => typeof x === 'string') : [];
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
