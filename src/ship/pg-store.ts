/**
 * The central PostgreSQL store: records of every node, each node's chain state, records
 * waiting for a predecessor (pending), quarantined records, findings and checkpoints.
 * Writes happen inside a transaction the collector holds (`CentralTx`, central-tx.ts);
 * reads (search, who, verify) go through the pool. Rows: central-records.ts. Schema and
 * migrations: pg-schema.ts.
 */
import pg from 'pg';
import { PortwardenError, errorMessage } from '../errors.js';
import { wordsColumn } from '../store/pg/index.js';
import { connectionAtRows, flowOf } from './central-conns.js';
import { COLUMNS, type RawRecord, fromRaw } from './central-records.js';
import { rollupCount, rollupPlan } from './central-rollup.js';
import { textPageRows } from './central-text.js';
import type { CentralRow } from './central-row.js';
import { CentralTx, type Finding, type NodeState } from './central-tx.js';
import {
  type CentralFilter,
  MAX_CENTRAL_PAGE,
  Params,
  centralWhere,
  encodeCursor,
  joinWhere,
  orderBy,
} from './central-query.js';
import { createPartitions, dayOf, migrate } from './pg-schema.js';

export type { CentralFilter } from './central-query.js';

/** A page of central records and the cursor of the next one (null at the end). */
export interface CentralPage {
  readonly rows: readonly CentralRow[];
  readonly next: string | null;
}

export interface NodeSummary extends NodeState {
  readonly pending: number;
  readonly quarantined: number;
  readonly findings: number;
}

export class CentralStore {
  readonly pool: pg.Pool;
  private readonly partitions = new Set<number>();

  private constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Connects and applies missing migrations. */
  static async open(url: string, options: { readonly max?: number } = {}): Promise<CentralStore> {
    // No JIT: over 30 day partitions a page's estimated cost passes jit_above_cost and
    // compiling took 300-950 ms, more than the query (an `options` in the URL still wins).
    const pool = new pg.Pool({
      connectionString: url,
      max: options.max ?? 4,
      options: '-c jit=off',
    });
    pool.on('error', () => undefined); // an idle client lost its server: the next query says so
    const store = new CentralStore(pool);
    try {
      const client = await pool.connect();
      try {
        await migrate(client);
      } finally {
        client.release();
      }
      await store.backfillWords();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new PortwardenError(
        'PW_ERR_STORE',
        { detail: `central store: ${errorMessage(err)}` },
        { cause: err },
      );
    }
    return store;
  }

  async close(): Promise<void> {
    await this.pool.end();
  }

  /** Runs `fn` in one transaction; commits when it resolves, rolls back when it throws. */
  async transaction<T>(fn: (tx: CentralTx) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      try {
        const out = await fn(new CentralTx(client, this));
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      }
    } finally {
      client.release();
    }
  }

  /** Creates the day partitions these timestamps need (outside the caller's transaction). */
  async ensurePartitions(timestamps: readonly bigint[]): Promise<void> {
    const missing = new Set<number>();
    for (const ts of timestamps) {
      const day = dayOf(ts);
      if (!this.partitions.has(day)) missing.add(day);
    }
    if (missing.size === 0) return;
    const client = await this.pool.connect();
    try {
      await createPartitions(client, missing);
    } finally {
      client.release();
    }
    for (const d of missing) this.partitions.add(d);
  }

  /** Records matching `filter`, newest first by default (a page; see searchPage). */
  async search(filter: CentralFilter): Promise<CentralRow[]> {
    return [...(await this.searchPage(filter)).rows];
  }

  /** One keyset page in the central order (time, node, sequence); see central-query.ts. */
  async searchPage(filter: CentralFilter): Promise<CentralPage> {
    const limit = Math.min(Math.max(Math.round(filter.limit ?? 100), 1), MAX_CENTRAL_PAGE);
    const flow =
      filter.communityId === undefined ? undefined : await flowOf(this.pool, filter.communityId);
    // Text: a few day partitions at a time, newest first (central-text.ts).
    let raw = await textPageRows(this.pool, filter, flow, limit + 1);
    if (raw === null) {
      const p = new Params();
      const r = await this.pool.query<RawRecord>(
        `SELECT ${COLUMNS} FROM records ${joinWhere(centralWhere(filter, p, flow))} ${orderBy(filter.order)} LIMIT ${p.add(limit + 1)}`,
        p.values,
      );
      raw = r.rows;
    }
    const rows = raw.slice(0, limit).map(fromRaw);
    const last = rows[rows.length - 1];
    const next =
      raw.length > limit && last !== undefined
        ? encodeCursor({ tsNs: last.timestampNs, node: last.node, seq: last.sequence })
        : null;
    return { rows, next };
  }

  /**
   * The conjuncts of `filter` (centralWhere), a community id first read as its
   * connections from the connections table.
   */
  async where(filter: CentralFilter, p: Params): Promise<string[]> {
    const flow =
      filter.communityId === undefined ? undefined : await flowOf(this.pool, filter.communityId);
    return centralWhere(filter, p, flow);
  }

  /**
   * Records matching `filter` (its cursor, order and limit ignored): from the hourly rollup
   * when the filter is a time window and rollup keys only (central-rollup.ts).
   */
  async count(filter: CentralFilter): Promise<number> {
    const { after: _a, ...f } = filter;
    const plan = rollupPlan(f);
    if (plan !== null) return rollupCount(this.pool, plan);
    const p = new Params();
    const r = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM records ${joinWhere(await this.where(f, p))}`,
      p.values,
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /**
   * Gives rows stored before schema version 2 their search words (`records_unworded`
   * finds them; empty once done, so this costs one index probe afterwards).
   */
  async backfillWords(batch = 2000): Promise<number> {
    let done = 0;
    for (;;) {
      const r = await this.pool.query<{ node: string; seq: string; ts_ns: string; text: string }>(
        'SELECT node, seq, ts_ns, text FROM records WHERE words IS NULL AND text IS NOT NULL LIMIT $1',
        [batch],
      );
      if (r.rows.length === 0) return done;
      const w = r.rows.map((x) => wordsColumn(x.text));
      const u = await this.pool.query(
        `UPDATE records r SET words = u.words,
           tsv = CASE WHEN u.lexemes IS NULL THEN NULL ELSE array_to_tsvector(string_to_array(u.lexemes, ' ')) END
         FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::text[]) AS u(node, seq, ts_ns, words, lexemes)
         WHERE r.node = u.node AND r.seq = u.seq AND r.ts_ns = u.ts_ns
           AND r.ts = timestamptz 'epoch' + (u.ts_ns / 1000) * interval '1 microsecond'`,
        [
          r.rows.map((x) => x.node),
          r.rows.map((x) => x.seq),
          r.rows.map((x) => x.ts_ns),
          w.map((x) => x.words),
          w.map((x) => x.lexemes),
        ],
      );
      // Never loop on rows an update cannot reach (it would find them again).
      if ((u.rowCount ?? 0) === 0) return done;
      done += r.rows.length;
    }
  }

  /** One node's records from `from` on, in sequence order, a page at a time. */
  async *iterateNode(node: string, from = 0, pageSize = 5000): AsyncGenerator<CentralRow> {
    let next = from;
    for (;;) {
      const r = await this.pool.query<RawRecord>(
        `SELECT ${COLUMNS} FROM records WHERE node = $1 AND seq >= $2 ORDER BY seq LIMIT $3`,
        [node, next, pageSize],
      );
      for (const raw of r.rows) yield fromRaw(raw);
      const last = r.rows[r.rows.length - 1];
      if (last === undefined || r.rows.length < pageSize) return;
      next = Number(last.seq) + 1;
    }
  }

  async recordCount(node?: string): Promise<number> {
    const r = await this.pool.query<{ n: string }>(
      node === undefined
        ? 'SELECT count(*) AS n FROM records'
        : 'SELECT count(*) AS n FROM records WHERE node = $1',
      node === undefined ? [] : [node],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Signed checkpoint notes of a node, by size. */
  async checkpoints(node: string): Promise<{ size: number; note: string }[]> {
    const r = await this.pool.query<{ size: string; note: string }>(
      'SELECT size, note FROM checkpoints WHERE node = $1 ORDER BY size',
      [node],
    );
    return r.rows.map((x) => ({ size: Number(x.size), note: x.note }));
  }

  async nodes(): Promise<NodeSummary[]> {
    const r = await this.pool.query<{
      node: string;
      next_seq: string;
      frontier: Buffer;
      broken: boolean;
      checkpoint_size: string | null;
      pending: string;
      quarantined: string;
      findings: string;
    }>(`SELECT s.*,
          (SELECT count(*) FROM pending p WHERE p.node = s.node) AS pending,
          (SELECT count(*) FROM quarantine q WHERE q.node = s.node) AS quarantined,
          (SELECT count(*) FROM findings f WHERE f.node = s.node) AS findings
        FROM node_state s ORDER BY s.node`);
    return r.rows.map((x) => ({
      node: x.node,
      nextSeq: Number(x.next_seq),
      frontier: x.frontier,
      broken: x.broken,
      checkpointSize: x.checkpoint_size === null ? null : Number(x.checkpoint_size),
      pending: Number(x.pending),
      quarantined: Number(x.quarantined),
      findings: Number(x.findings),
    }));
  }

  async findings(node?: string): Promise<Finding[]> {
    const r = await this.pool.query<{
      node: string;
      seq: string | null;
      kind: string;
      detail: string;
      record: Record<string, unknown>;
    }>(
      `SELECT node, seq, kind, detail, record FROM findings ${node === undefined ? '' : 'WHERE node = $1'} ORDER BY id`,
      node === undefined ? [] : [node],
    );
    return r.rows.map((x) => ({
      node: x.node,
      sequence: x.seq === null ? null : Number(x.seq),
      kind: x.kind,
      detail: x.detail,
      record: x.record,
    }));
  }

  /**
   * The connection that held `ip:port` on its client or upstream leg at `atNs`, on any node:
   * the newest connection-open at or before `atNs`, with its close if recorded (through
   * the connections table: central-conns.ts).
   */
  async connectionAt(
    ip: string,
    port: number,
    atNs: bigint,
  ): Promise<{ leg: 'client' | 'upstream'; open: CentralRow; close: CentralRow | null } | null> {
    const hit = await connectionAtRows(this.pool, ip, port, atNs);
    if (hit === null) return null;
    const closed = hit.close === null ? null : fromRaw(hit.close);
    if (closed !== null && closed.timestampNs < atNs) return null;
    return { leg: hit.leg, open: fromRaw(hit.open), close: closed };
  }
}
