/**
 * The Store on PostgreSQL for one gateway (`store: postgres://…`). The Store interface is
 * synchronous (the Recorder commits on the forwarding path and every reader calls it
 * inline), so each call is handed to a worker thread that owns the connection and the
 * calling thread blocks until the answer is back (sync-bridge.ts). `transaction(fn)` sends
 * nothing until `fn` returns: the records, tree nodes, checkpoints and meta it wrote go in
 * one call as one statement, which PostgreSQL runs as one transaction. Reads inside `fn`
 * do not see its own buffered records (tree nodes and meta they do).
 *
 * Schema: schema.ts. Why and what it costs: docs/architecture.md, docs/scale-out.md.
 */
import { PortwardenError } from '../../errors.js';
import type { EventFilter } from '../filter.js';
import { MAX_PAGE } from '../filter.js';
import type { CheckpointRow, ConnectionAt, EventRow, GroupKey, Page, Store } from '../types.js';
import { dayOf } from './ddl.js';
import type { CommitBatch, CommitResult, WorkerData } from './protocol.js';
import { Params, joinWhere, whereOf } from './query.js';
import { type RawEventRow, bytes, toEventRow } from '../event-row.js';
import { rowValues } from './row.js';
import { EVENT_COLUMNS, READ_COLUMNS } from './schema.js';
import { SyncBridge, bridgeWorkerScript } from './sync-bridge.js';
import { parseStoreUrl } from './url.js';

export interface PostgresStoreOptions {
  readonly readonly?: boolean;
  /** Longest a call may block the caller (default 40 s). */
  readonly timeoutMs?: number;
}

const COLUMNS = READ_COLUMNS.map((c) => `e.${c}`).join(', ');
const ITERATE_PAGE = 2000;
const LEAF_PAGE = 10_000;
const HOUR_NS = 3_600_000_000_000n;

const GROUP_EXPR: Record<Exclude<GroupKey, 'hour'>, string> = {
  listener: "COALESCE(e.listener, '-')",
  user: "COALESCE(e.user_name, '-')",
  source: "COALESCE(e.src_ip, '-')",
  action: 'e.action',
  outcome: "COALESCE(e.outcome, '-')",
  rule: "COALESCE(e.rule, '-')",
  operation: "COALESCE(e.operation, '-')",
  status: "COALESCE(e.status, '-')",
  db: "COALESCE(e.db_namespace, '-')",
};

interface Pending {
  events: EventRow[];
  nodes: Map<string, { level: number; index: number; hash: Buffer }>;
  checkpoints: Map<number, CheckpointRow>;
  meta: Map<string, string>;
}

function emptyPending(): Pending {
  return { events: [], nodes: new Map(), checkpoints: new Map(), meta: new Map() };
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  /** The store URL without its password. */
  readonly url: string;
  readonly schema: string;
  private readonly bridge: SyncBridge;
  private readonly readonly: boolean;
  /** Day partitions known to exist. */
  private readonly days: Set<number>;
  private pending: Pending | null = null;

  constructor(url: string, options: PostgresStoreOptions = {}) {
    const parsed = parseStoreUrl(url);
    this.url = parsed.redacted;
    this.schema = parsed.schema;
    this.readonly = options.readonly ?? false;
    const timeoutMs = options.timeoutMs ?? 40_000;
    const data: WorkerData = {
      connection: parsed.connection,
      schema: parsed.schema,
      redacted: parsed.redacted,
      readonly: this.readonly,
      // Each deadline inside the next, so the worker answers before the caller gives up:
      // with the default 40 s, statements 30 s, the driver 35 s.
      connectTimeoutMs: Math.min(5000, Math.floor(timeoutMs / 2)),
      statementTimeoutMs: Math.floor(timeoutMs * 0.75),
      queryTimeoutMs: Math.floor(timeoutMs * 0.875),
    };
    this.bridge = new SyncBridge(bridgeWorkerScript(import.meta.url, 'worker'), {
      timeoutMs,
      data,
    });
    try {
      this.days = new Set(this.bridge.call<{ days: number[] }>('open').days);
    } catch (err) {
      this.bridge.close();
      throw err;
    }
  }

  private query<T = Record<string, unknown>>(sql: string, params: unknown[] = []): T[] {
    return this.bridge.call<T[]>('query', { sql, params });
  }

  private one<T>(sql: string, params: unknown[] = []): T | undefined {
    return this.query<T>(sql, params)[0];
  }

  transaction(fn: () => void): void {
    if (this.pending !== null) {
      fn();
      return;
    }
    this.pending = emptyPending();
    let batch: Pending;
    try {
      fn();
    } finally {
      batch = this.pending;
      this.pending = null;
    }
    this.commit(batch);
  }

  private writes(): Pending | null {
    if (this.readonly) {
      throw new PortwardenError('PW_ERR_STORE', { detail: `${this.url}: opened read-only` });
    }
    return this.pending;
  }

  insertEvent(row: EventRow): void {
    const p = this.writes();
    if (p !== null) p.events.push(row);
    else this.commit({ ...emptyPending(), events: [row] });
  }

  private commit(p: Pending): void {
    if (
      p.events.length === 0 &&
      p.nodes.size === 0 &&
      p.checkpoints.size === 0 &&
      p.meta.size === 0
    )
      return;
    const days = new Set<number>();
    let events: CommitBatch['events'] = null;
    if (p.events.length > 0) {
      const first = p.events[0]?.sequence ?? 0;
      const columns: unknown[][] = EVENT_COLUMNS.map(() => []);
      const lexemes: (string | null)[] = [];
      let maxTs = 0n;
      p.events.forEach((row, i) => {
        if (row.sequence !== first + i) {
          throw new PortwardenError('PW_ERR_STORE', {
            detail: `records of one commit must have consecutive sequences (${first + i} expected, ${row.sequence} given)`,
          });
        }
        const day = dayOf(row.timestampNs);
        if (!this.days.has(day)) {
          // The next day's partition too, so the midnight rollover finds it ready.
          days.add(day);
          if (!this.days.has(day + 1)) days.add(day + 1);
        }
        if (row.timestampNs > maxTs) maxTs = row.timestampNs;
        const v = rowValues(row);
        v.values.forEach((x, c) => columns[c]?.push(x));
        lexemes.push(v.lexemes);
      });
      events = { first, end: first + p.events.length, maxTs: maxTs.toString(), columns, lexemes };
    }
    const nodes = [...p.nodes.values()];
    const batch: CommitBatch = {
      days: [...days],
      events,
      nodes: {
        level: nodes.map((n) => n.level),
        index: nodes.map((n) => n.index),
        hash: nodes.map((n) => n.hash),
      },
      checkpoints: [...p.checkpoints.values()].map((c) => ({
        size: c.size,
        ts: c.timestampNs.toString(),
        root: c.root,
        note: c.note,
      })),
      meta: [...p.meta],
    };
    this.bridge.call<CommitResult>('commit', batch);
    for (const d of days) this.days.add(d);
  }

  nextSequence(): number {
    return Number(this.one<{ n: string }>('SELECT next_seq AS n FROM head')?.n ?? 0);
  }

  lastTimestampNs(): bigint {
    return BigInt(this.one<{ t: string }>('SELECT last_ts AS t FROM head')?.t ?? 0);
  }

  getBySequence(sequence: number): EventRow | undefined {
    const r = this.one<RawEventRow>(`SELECT ${COLUMNS} FROM events e WHERE e.seq = $1`, [sequence]);
    return r ? toEventRow(r) : undefined;
  }

  getById(id: string): EventRow | undefined {
    const r = this.one<RawEventRow>(`SELECT ${COLUMNS} FROM events e WHERE e.id = $1 LIMIT 1`, [
      id,
    ]);
    return r ? toEventRow(r) : undefined;
  }

  *iterate(from = 0, to = Number.MAX_SAFE_INTEGER): IterableIterator<EventRow> {
    let next = from;
    while (next < to) {
      const rows = this.query<RawEventRow>(
        `SELECT ${COLUMNS} FROM events e WHERE e.seq >= $1 AND e.seq < $2 ORDER BY e.seq LIMIT ${ITERATE_PAGE}`,
        [next, to],
      );
      for (const r of rows) yield toEventRow(r);
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < ITERATE_PAGE) return;
      next = Number(last.seq) + 1;
    }
  }

  /** Sequence, body and leaf only, from `from` on, in larger pages (what verify reads). */
  *iterateLeaves(
    from = 0,
  ): IterableIterator<{ sequence: number; body: string | null; leafHash: Buffer }> {
    let next = from;
    for (;;) {
      const rows = this.query<{ seq: string; body: string | null; leaf: Uint8Array }>(
        `SELECT seq, body, leaf FROM events WHERE seq >= $1 ORDER BY seq LIMIT ${LEAF_PAGE}`,
        [next],
      );
      for (const r of rows)
        yield { sequence: Number(r.seq), body: r.body, leafHash: bytes(r.leaf) };
      const last = rows[rows.length - 1];
      if (last === undefined || rows.length < LEAF_PAGE) return;
      next = Number(last.seq) + 1;
    }
  }

  search(f: EventFilter): Page {
    const limit = Math.max(1, Math.min(Math.floor(f.limit ?? 100) || 1, MAX_PAGE));
    const p = new Params();
    const where = joinWhere(whereOf(f, p));
    const dir = f.order === 'oldest' ? 'ASC' : 'DESC';
    const raw = this.query<RawEventRow>(
      `SELECT ${COLUMNS} FROM events e ${where} ORDER BY e.seq ${dir} LIMIT ${limit + 1}`,
      p.values,
    );
    const rows = raw.slice(0, limit).map(toEventRow);
    const last = rows[rows.length - 1];
    return { rows, next: raw.length > limit && last ? last.sequence : null };
  }

  count(f: EventFilter): number {
    const p = new Params();
    const w = whereOf(f, p);
    if (w.length === 0) return this.nextSequence();
    const r = this.one<{ n: string }>(
      `SELECT count(*) AS n FROM events e ${joinWhere(w)}`,
      p.values,
    );
    return Number(r?.n ?? 0);
  }

  groupBy(f: EventFilter, key: GroupKey): { key: string; count: number }[] {
    const p = new Params();
    const where = joinWhere(whereOf(f, p));
    if (key === 'hour') {
      const rows = this.query<{ h: string; n: string }>(
        `SELECT e.ts / ${HOUR_NS} AS h, count(*) AS n FROM events e ${where} GROUP BY h ORDER BY h`,
        p.values,
      );
      return rows.map((r) => ({ key: hourKey(BigInt(r.h) * HOUR_NS), count: Number(r.n) }));
    }
    const rows = this.query<{ k: string; n: string }>(
      `SELECT ${GROUP_EXPR[key]} AS k, count(*) AS n FROM events e ${where}
       GROUP BY 1 ORDER BY n DESC, ${GROUP_EXPR[key]} COLLATE "C" LIMIT 10000`,
      p.values,
    );
    return rows.map((r) => ({ key: r.k, count: Number(r.n) }));
  }

  connectionAt(ip: string, port: number, atNs: bigint): ConnectionAt | null {
    const at = atNs.toString();
    const rows = this.query<RawEventRow & { leg: 'client' | 'upstream' }>(
      `(SELECT ${COLUMNS}, 'client' AS leg FROM events e
         WHERE e.action = 'connection-open' AND e.src_ip = $1 AND e.src_port = $2 AND e.ts <= $3::bigint
         ORDER BY e.ts DESC LIMIT 1)
       UNION ALL
       (SELECT ${COLUMNS}, 'upstream' AS leg FROM events e
         WHERE e.action = 'connection-open' AND e.up_local_ip = $1 AND e.up_local_port = $2 AND e.ts <= $3::bigint
         ORDER BY e.ts DESC LIMIT 1)`,
      [ip, port, at],
    );
    const candidates = rows
      .map((r) => ({ leg: r.leg, row: toEventRow(r) }))
      .sort((a, b) => (a.row.timestampNs > b.row.timestampNs ? -1 : 1));
    for (const c of candidates) {
      // A refused connection-open held the endpoint only for its own instant.
      if (c.row.outcome === 'failure') {
        if (c.row.timestampNs === atNs) return { leg: c.leg, open: c.row, close: null };
        continue;
      }
      const close = c.row.connectionId ? this.closeOf(c.row.connectionId) : null;
      if (close === null || close.timestampNs >= atNs) return { leg: c.leg, open: c.row, close };
    }
    return null;
  }

  private closeOf(connectionId: string): EventRow | null {
    const r = this.one<RawEventRow>(
      `SELECT ${COLUMNS} FROM events e WHERE e.action = 'connection-close' AND e.conn = $1 LIMIT 1`,
      [connectionId],
    );
    return r ? toEventRow(r) : null;
  }

  connectionEnds(connectionId: string): { open: EventRow | null; close: EventRow | null } {
    const rows = this.query<RawEventRow & { which: 'open' | 'close' }>(
      `(SELECT ${COLUMNS}, 'open' AS which FROM events e
         WHERE e.conn = $1 AND e.action = 'connection-open' ORDER BY e.seq LIMIT 1)
       UNION ALL
       (SELECT ${COLUMNS}, 'close' AS which FROM events e
         WHERE e.action = 'connection-close' AND e.conn = $1 LIMIT 1)`,
      [connectionId],
    );
    const open = rows.find((r) => r.which === 'open');
    const close = rows.find((r) => r.which === 'close');
    return { open: open ? toEventRow(open) : null, close: close ? toEventRow(close) : null };
  }

  firstSequenceOfSource(sourceIp: string): number | null {
    const r = this.one<{ s: string | null }>('SELECT min(seq) AS s FROM events WHERE src_ip = $1', [
      sourceIp,
    ]);
    return r?.s === null || r?.s === undefined ? null : Number(r.s);
  }

  /**
   * Level 0 is each record's own leaf hash: answered from `events.leaf` (so the tree table
   * holds no row per record and level-0 writes are dropped).
   */
  getNode(level: number, index: number): Buffer | undefined {
    if (level === 0) {
      const pending = this.pending?.events.find((e) => e.sequence === index);
      if (pending !== undefined) return pending.leafHash;
      const r = this.one<{ leaf: Uint8Array }>('SELECT leaf FROM events WHERE seq = $1', [index]);
      return r ? bytes(r.leaf) : undefined;
    }
    const buffered = this.pending?.nodes.get(`${level}:${index}`);
    if (buffered !== undefined) return buffered.hash;
    const r = this.one<{ hash: Uint8Array }>(
      'SELECT hash FROM tree WHERE level = $1 AND idx = $2',
      [level, index],
    );
    return r ? bytes(r.hash) : undefined;
  }

  putNode(level: number, index: number, hash: Buffer): void {
    const p = this.writes();
    if (level === 0) return;
    const target = p ?? emptyPending();
    target.nodes.set(`${level}:${index}`, { level, index, hash });
    if (p === null) this.commit(target);
  }

  insertCheckpoint(row: CheckpointRow): void {
    const p = this.writes();
    const target = p ?? emptyPending();
    target.checkpoints.set(row.size, row);
    if (p === null) this.commit(target);
  }

  checkpoints(): CheckpointRow[] {
    return this.query<RawCheckpoint>(
      'SELECT size, ts, root, note FROM checkpoints ORDER BY size',
    ).map(toCheckpoint);
  }

  latestCheckpoint(): CheckpointRow | undefined {
    const r = this.one<RawCheckpoint>(
      'SELECT size, ts, root, note FROM checkpoints ORDER BY size DESC LIMIT 1',
    );
    return r ? toCheckpoint(r) : undefined;
  }

  pruneBodies(beforeNs: bigint): { from: number; to: number; count: number } | null {
    this.writes();
    const r = this.one<{ a: string | null; b: string | null; n: string }>(
      `WITH pruned AS (
         UPDATE events SET body = NULL, text = NULL, words = NULL, tsv = NULL
         WHERE ts < $1::bigint AND body IS NOT NULL RETURNING seq)
       SELECT min(seq) AS a, max(seq) AS b, count(*) AS n FROM pruned`,
      [beforeNs.toString()],
    );
    if (r === undefined || r.a === null || r.b === null) return null;
    return { from: Number(r.a), to: Number(r.b), count: Number(r.n) };
  }

  getMeta(key: string): string | undefined {
    const buffered = this.pending?.meta.get(key);
    if (buffered !== undefined) return buffered;
    return this.one<{ value: string }>('SELECT value FROM meta WHERE key = $1', [key])?.value;
  }

  setMeta(key: string, value: string): void {
    const p = this.writes();
    const target = p ?? emptyPending();
    target.meta.set(key, value);
    if (p === null) this.commit(target);
  }

  close(): void {
    this.bridge.close('close');
  }
}

interface RawCheckpoint {
  size: string;
  ts: string;
  root: Uint8Array;
  note: string;
}

function toCheckpoint(r: RawCheckpoint): CheckpointRow {
  return { size: Number(r.size), timestampNs: BigInt(r.ts), root: bytes(r.root), note: r.note };
}

function hourKey(ns: bigint): string {
  return `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 13)}:00Z`;
}
