/**
 * Synthetic audit records with a realistic spread for the search benchmark: listeners of
 * every protocol, a few hundred users, a few thousand client addresses, connections that
 * open, log in, run statements (each with its outcome record) and close, over 30 days.
 * `generate` puts them straight into SqliteStore.insertEvent in transactions of 10k (the
 * Recorder's own cost is measured elsewhere); `records` yields them for other stores (the
 * central one: bench/central-search.ts). Bodies are canonical JSON shaped like real records.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../src/audit/canonical.js';
import type { JsonObject } from '../src/audit/event.js';
import type { EventRow, SqliteStore } from '../src/store/index.js';

const LISTENERS = [
  { name: 'orders-db', protocol: 'postgres', port: 15432, target: 5432 },
  { name: 'billing-db', protocol: 'postgres', port: 15433, target: 5432 },
  { name: 'users-db', protocol: 'mysql', port: 13306, target: 3306 },
  { name: 'reports-db', protocol: 'postgres', port: 15434, target: 5432 },
  { name: 'cache', protocol: 'redis', port: 16379, target: 6379 },
  { name: 'sessions', protocol: 'redis', port: 16380, target: 6379 },
  { name: 'orders-api', protocol: 'http', port: 18080, target: 8080 },
  { name: 'admin-api', protocol: 'http', port: 18081, target: 8081 },
] as const;

const TABLES = [
  'orders',
  'order_items',
  'customers',
  'invoices',
  'payments',
  'shipments',
  'products',
  'stock',
  'audit_trail',
  'refunds',
];
const SQL: readonly ((t: string, n: number) => [string, string, string])[] = [
  (t) => [`SELECT * FROM ${t} WHERE id = $1`, 'SELECT', 'read'],
  (t, n) => [
    `SELECT count(*) FROM ${t} WHERE created_at > now() - interval '${n % 30} days'`,
    'SELECT',
    'read',
  ],
  (t, n) => [`UPDATE ${t} SET state = $1 WHERE id = ${n}`, 'UPDATE', 'write'],
  (t) => [`INSERT INTO ${t} (id, state) VALUES ($1, $2)`, 'INSERT', 'write'],
  (t, n) => [`DELETE FROM ${t} WHERE id = ${n}`, 'DELETE', 'write'],
  (t) => [`ALTER TABLE ${t} ADD COLUMN note text`, 'ALTER TABLE', 'ddl'],
];
const REDIS = ['get', 'set', 'hget', 'hset', 'del', 'expire', 'incr', 'lpush'];
const PATHS = [
  '/v1/orders',
  '/v1/orders/{id}',
  '/v1/customers/{id}',
  '/v1/invoices',
  '/admin/users',
  '/healthz',
];
const METHODS = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];

/** Deterministic xorshift so every run generates the same data. */
export class Rng {
  private s: number;
  constructor(seed = 0x9e3779b9) {
    this.s = seed >>> 0 || 1;
  }
  next(): number {
    let x = this.s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.s = x >>> 0;
    return this.s / 0x100000000;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)] as T;
  }
  /** Skewed pick: low indexes far more often (a few sources and users do most of the work). */
  skewed<T>(a: readonly T[]): T {
    return a[Math.floor(a.length * this.next() ** 3)] as T;
  }
}

export const USERS = Array.from({ length: 300 }, (_, i) => (i < 20 ? `svc-${i}` : `user${i}`));
export const SOURCES = Array.from(
  { length: 3000 },
  (_, i) => `10.${1 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`,
);

export interface RecordOptions {
  readonly rows: number;
  /** Sequence of the first record (0). */
  readonly firstSequence?: number;
  /** Rng seed (one per node gives each node its own traffic). */
  readonly seed?: number;
  /** `observer.id` of every record ('node-a'). */
  readonly observer?: string;
  /** Leading hex digits of the event ids ('0193'; give each node its own). */
  readonly idPrefix?: string;
  /** Prefix of the connection ids ('c-'; connection ids are unique across nodes). */
  readonly connPrefix?: string;
  /** Epoch ns of the first record. */
  readonly startNs: bigint;
  /** Span the records cover. */
  readonly spanNs: bigint;
}

export interface GenerateOptions extends RecordOptions {
  readonly onProgress?: (rows: number) => void;
}

/** One generated record: its embedded-store row and the record object its body encodes. */
export interface GeneratedRecord {
  readonly row: EventRow;
  readonly record: JsonObject;
}

/** What the benchmark needs to pick realistic queries afterwards. */
export interface Generated {
  readonly rows: number;
  readonly endNs: bigint;
}

export function generate(store: SqliteStore, o: GenerateOptions): Generated {
  let batch: EventRow[] = [];
  let seq = store.nextSequence();
  let endNs = o.startNs;
  const flush = (): void => {
    const rows = batch;
    batch = [];
    store.transaction(() => {
      for (const r of rows) store.insertEvent(r);
    });
    o.onProgress?.(seq);
  };
  for (const { row } of records({ ...o, firstSequence: seq })) {
    batch.push(row);
    seq = row.sequence + 1;
    endNs = row.timestampNs;
    if (batch.length >= 10_000) flush();
  }
  if (batch.length > 0) flush();
  return { rows: o.rows, endNs };
}

/** `o.rows` records in sequence order from `o.firstSequence`, deterministic for a seed. */
export function* records(o: RecordOptions): Generator<GeneratedRecord> {
  const rng = new Rng(o.seed);
  const step = o.spanNs / BigInt(o.rows);
  const observer = o.observer ?? 'node-a';
  const idPrefix = o.idPrefix ?? '0193';
  const connPrefix = o.connPrefix ?? 'c-';
  let seq = o.firstSequence ?? 0;
  let ts = o.startNs;
  let connN = 0;
  let out: GeneratedRecord[] = [];
  const push = (
    c: Conn,
    event: JsonObject,
    extra: JsonObject,
    text: string | null,
    user: string | null,
  ): void => {
    ts += step / 2n + BigInt(rng.int(Number(step)));
    const id = `${idPrefix}${seq.toString(16).padStart(32 - idPrefix.length, '0')}`;
    const record: JsonObject = {
      ...c.fields,
      ...extra,
      '@timestamp': new Date(Number(ts / 1_000_000n)).toISOString(),
      event: { ...event, id, sequence: seq, kind: 'event' },
      observer: { hostname: 'bench', id: observer },
    };
    const body = canonicalJson(record);
    const row: EventRow = {
      sequence: seq,
      timestampNs: ts,
      id,
      action: typeof event.action === 'string' ? event.action : '',
      outcome: typeof event.outcome === 'string' ? event.outcome : null,
      listener: c.listener,
      connectionId: c.id,
      sourceIp: c.srcIp,
      sourcePort: c.srcPort,
      destinationIp: '10.0.0.9',
      destinationPort: c.dstPort,
      upstreamLocalIp: '10.0.0.9',
      upstreamLocalPort: c.upLocalPort,
      upstreamIp: '10.0.5.5',
      upstreamPort: c.upPort,
      user,
      communityId: c.community,
      text,
      body,
      leafHash: createHash('sha256').update(body).digest(),
    };
    out.push({ row, record });
    seq++;
  };
  const end = seq + o.rows;
  while (seq < end) {
    const l = rng.skewed(LISTENERS);
    const srcIp = rng.skewed(SOURCES);
    const user = rng.skewed(USERS);
    const c = conn(
      `${connPrefix}${(connN++).toString(36)}`,
      l,
      srcIp,
      32768 + rng.int(28000),
      32768 + rng.int(28000),
    );
    const refused = rng.next() < 0.01;
    push(
      c,
      {
        action: 'connection-open',
        category: ['network'],
        type: refused ? ['connection', 'denied'] : ['connection', 'start', 'allowed'],
        outcome: refused ? 'failure' : 'success',
        ...(refused ? { reason: 'policy' } : {}),
      },
      refused ? { rule: { id: 'default-deny' } } : {},
      null,
      null,
    );
    if (refused) {
      yield* out;
      out = [];
      continue;
    }
    const actions = 1 + Math.floor(-Math.log(1 - rng.next()) * 15);
    for (let i = 0; i < actions && seq < end; i++) {
      const n = rng.int(100_000);
      const denied = rng.next() < 0.02;
      const decision = denied ? 'failure' : 'success';
      const type = ['access', denied ? 'denied' : 'allowed'];
      if (l.protocol === 'postgres' || l.protocol === 'mysql') {
        const [text, op, cls] = rng.pick(SQL)(rng.skewed(TABLES), n);
        const db = {
          system: l.protocol === 'mysql' ? 'mysql' : 'postgresql',
          namespace: l.name.replace('-db', ''),
          operation: op,
          query: { text, class: cls },
          user,
        };
        push(
          c,
          { action: 'db-query', category: ['database'], type, outcome: decision },
          {
            db,
            user: { name: user },
            rule: { id: denied ? 'no-ddl' : 'app-rw' },
            policy: { version: 'sha256:1f2e' },
          },
          text,
          user,
        );
        const status = denied ? '42501' : rng.next() < 0.01 ? '23505' : '00000';
        push(
          c,
          {
            action: 'db-result',
            category: ['database'],
            type: ['info'],
            outcome: status === '00000' ? 'success' : 'failure',
            duration: 100_000 + rng.int(5_000_000),
          },
          {
            db: {
              system: db.system,
              response: { status_code: status, returned_rows: rng.int(100) },
            },
          },
          null,
          null,
        );
      } else if (l.protocol === 'redis') {
        const cmd = rng.pick(REDIS);
        const key = `session:${n}`;
        push(
          c,
          { action: 'redis-command', category: ['database'], type, outcome: decision },
          {
            redis: { command: cmd, key, args_count: 2, acl_categories: ['read'] },
            user: { name: user },
          },
          `${cmd} ${key}`,
          user,
        );
        push(
          c,
          {
            action: 'redis-reply',
            category: ['database'],
            type: ['access'],
            outcome: denied ? 'failure' : 'success',
          },
          {
            redis: {
              command: cmd,
              reply: denied
                ? { type: 'error', error: { code: 'NOPERM', message: 'NOPERM' } }
                : { type: 'bulk' },
            },
          },
          null,
          null,
        );
      } else {
        const path = rng.pick(PATHS).replace('{id}', String(n));
        const method = rng.pick(METHODS);
        push(
          c,
          { action: 'http-request', category: ['web'], type, outcome: decision },
          { http: { version: '1.1', request: { method } }, url: { path }, user: { name: user } },
          path,
          user,
        );
        push(
          c,
          {
            action: 'http-response',
            category: ['web'],
            type: ['access'],
            outcome: denied ? 'failure' : 'success',
            duration: 200_000 + rng.int(9_000_000),
          },
          { http: { response: { status_code: denied ? 403 : 200 } } },
          null,
          null,
        );
      }
    }
    if (seq < end)
      push(
        c,
        {
          action: 'connection-close',
          category: ['network'],
          type: ['connection', 'end'],
          outcome: 'success',
          reason: rng.next() < 0.5 ? 'client-close' : 'server-close',
          duration: 1_000_000_000,
        },
        {
          source: { ip: c.srcIp, port: c.srcPort, bytes: rng.int(100_000) },
          destination: { ip: '10.0.0.9', port: c.dstPort, bytes: rng.int(1_000_000) },
        },
        null,
        null,
      );
    yield* out;
    out = [];
  }
}

interface Conn {
  readonly id: string;
  readonly listener: string;
  readonly srcIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  readonly upLocalPort: number;
  readonly upPort: number;
  readonly community: string;
  readonly fields: JsonObject;
}

function conn(
  id: string,
  l: (typeof LISTENERS)[number],
  srcIp: string,
  srcPort: number,
  upLocalPort: number,
): Conn {
  const community = `1:${createHash('sha1').update(`${srcIp}:${srcPort}:${l.port}`).digest('base64')}`;
  const upCommunity = `1:${createHash('sha1').update(`up:${upLocalPort}:${l.target}`).digest('base64')}`;
  return {
    id,
    listener: l.name,
    srcIp,
    srcPort,
    dstPort: l.port,
    upLocalPort,
    upPort: l.target,
    community,
    fields: {
      listener: { name: l.name, protocol: l.protocol },
      connection: { id },
      source: { ip: srcIp, port: srcPort },
      destination: { ip: '10.0.0.9', port: l.port },
      upstream: {
        local: { ip: '10.0.0.9', port: upLocalPort },
        ip: '10.0.5.5',
        port: l.target,
        community_id: upCommunity,
      },
      network: { transport: 'tcp', protocol: l.protocol, community_id: community },
      policy: { version: 'sha256:1f2e' },
    },
  };
}
