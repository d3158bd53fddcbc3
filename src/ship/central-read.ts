/**
 * The read side of the central store as the central API needs it (`portwarden central
 * serve`, src/api/central): pages in the central order, one record by (node, sequence) or
 * event id, counts grouped by a column or by time bucket, checkpoints with their roots,
 * and a node's verification. Every call is one or a few pooled queries; nothing blocks
 * the event loop (the API process has no gateway to keep fast, so it reads asynchronously
 * instead of through a synchronous bridge).
 */
import type { VerifyResult } from '../audit/integrity.js';
import { verifyCentralNode } from './central-verify.js';
import { type CentralFilter, Params, joinWhere } from './central-query.js';
import type { CentralRow } from './central-row.js';
import { COLUMNS, type RawRecord, fromRaw } from './central-records.js';
import { rollupGroupBy, rollupHasKey, rollupPlan } from './central-rollup.js';
import type { Finding } from './central-tx.js';
import type { CentralPage, CentralStore, NodeSummary } from './pg-store.js';

/** What `groupBy` can count by (the central columns, plus the hour of the record). */
export const CENTRAL_GROUP_KEYS = {
  node: 'node',
  listener: 'listener',
  user: 'user_name',
  source: 'src_ip',
  action: 'action',
  outcome: 'outcome',
  rule: 'rule',
  operation: 'operation',
  status: 'status',
  db: 'db_namespace',
  module: 'module',
  hour: "to_char(date_trunc('hour', ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"')",
} as const;
export type CentralGroupKey = keyof typeof CENTRAL_GROUP_KEYS;

export interface CentralCheckpoint {
  readonly node: string;
  readonly size: number;
  readonly root: Buffer;
  readonly note: string;
  /** When the collector stored it. */
  readonly receivedAt: Date;
}

export interface CentralWho {
  readonly leg: 'client' | 'upstream';
  readonly open: CentralRow;
  readonly close: CentralRow | null;
}

/** Counts of one time bucket of one (listener, outcome). */
export interface CentralBucket {
  readonly bucket: number;
  readonly listener: string | null;
  readonly outcome: string | null;
  readonly count: number;
}

export class CentralReader {
  constructor(readonly store: CentralStore) {}

  search(filter: CentralFilter): Promise<CentralPage> {
    return this.store.searchPage(filter);
  }

  count(filter: CentralFilter): Promise<number> {
    return this.store.count(filter);
  }

  /**
   * Records per value of `key` (the most first, at most `limit`); a missing value is '-'.
   * From the hourly rollup when the key and the filter allow (central-rollup.ts).
   */
  async groupBy(
    filter: CentralFilter,
    key: CentralGroupKey,
    limit = 100,
  ): Promise<{ key: string; count: number }[]> {
    const { after: _a, ...f } = filter;
    const col = CENTRAL_GROUP_KEYS[key];
    const n = Math.min(Math.max(limit, 1), 10_000);
    const plan = rollupHasKey(key) ? rollupPlan(f) : null;
    let rows: { k: string | null; n: string }[];
    if (plan !== null) rows = await rollupGroupBy(this.store.pool, plan, key, col, n);
    else {
      const p = new Params();
      const where = await this.store.where(f, p);
      const r = await this.store.pool.query<{ k: string | null; n: string }>(
        `SELECT ${col} AS k, count(*) AS n FROM records ${joinWhere(where)}
         GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${p.add(n)}`,
        p.values,
      );
      rows = r.rows;
    }
    return rows.map((x) => ({ key: x.k ?? '-', count: Number(x.n) }));
  }

  /** Counts per `intervalNs` bucket from `sinceNs`, per listener and outcome. */
  async buckets(
    filter: CentralFilter,
    sinceNs: bigint,
    intervalNs: bigint,
  ): Promise<CentralBucket[]> {
    const p = new Params();
    const { after: _a, ...f } = filter;
    const since = p.add(sinceNs.toString(), 'bigint');
    const interval = p.add(intervalNs.toString(), 'bigint');
    const r = await this.store.pool.query<{
      b: string;
      listener: string | null;
      outcome: string | null;
      n: string;
    }>(
      `SELECT (ts_ns - ${since}) / ${interval} AS b, listener, outcome, count(*) AS n
       FROM records ${joinWhere(await this.store.where(f, p))} GROUP BY 1, 2, 3`,
      p.values,
    );
    return r.rows.map((x) => ({
      bucket: Number(x.b),
      listener: x.listener,
      outcome: x.outcome,
      count: Number(x.n),
    }));
  }

  /**
   * Records of `node` with sequences in [from, to) that match `filter`, in sequence order
   * (the live tail: a node's records reach the central store in sequence order).
   */
  async tail(
    node: string,
    from: number,
    to: number,
    filter: CentralFilter,
    limit: number,
  ): Promise<CentralRow[]> {
    const p = new Params();
    const { after: _a, order: _o, limit: _l, ...f } = filter;
    const where = await this.store.where({ ...f, node }, p);
    where.push(`seq >= ${p.add(from, 'bigint')}`, `seq < ${p.add(to, 'bigint')}`);
    const r = await this.store.pool.query<RawRecord>(
      `SELECT ${COLUMNS} FROM records ${joinWhere(where)} ORDER BY seq LIMIT ${p.add(limit)}`,
      p.values,
    );
    return r.rows.map(fromRaw);
  }

  async record(node: string, seq: number): Promise<CentralRow | null> {
    const r = await this.store.pool.query<RawRecord>(
      `SELECT ${COLUMNS} FROM records WHERE node = $1 AND seq = $2 LIMIT 1`,
      [node, seq],
    );
    const row = r.rows[0];
    return row === undefined ? null : fromRaw(row);
  }

  /** The record with this event id (ids are unique per record; the oldest if repeated). */
  async recordById(id: string): Promise<CentralRow | null> {
    const r = await this.store.pool.query<RawRecord>(
      `SELECT ${COLUMNS} FROM records WHERE id = $1 ORDER BY ts, node, seq LIMIT 1`,
      [id.replaceAll('\0', '\uFFFD')],
    );
    const row = r.rows[0];
    return row === undefined ? null : fromRaw(row);
  }

  connectionAt(ip: string, port: number, atNs: bigint): Promise<CentralWho | null> {
    return this.store.connectionAt(ip, port, atNs);
  }

  nodes(): Promise<NodeSummary[]> {
    return this.store.nodes();
  }

  findings(node?: string): Promise<Finding[]> {
    return this.store.findings(node);
  }

  /** Verified checkpoints, newest first (one node, or every node). */
  async checkpoints(node: string | undefined, limit: number): Promise<CentralCheckpoint[]> {
    const r = await this.store.pool.query<{
      node: string;
      size: string;
      root: Buffer;
      note: string;
      received_at: Date;
    }>(
      `SELECT node, size, root, note, received_at FROM checkpoints
       ${node === undefined ? '' : 'WHERE node = $2'} ORDER BY received_at DESC, size DESC LIMIT $1`,
      node === undefined ? [limit] : [limit, node],
    );
    return r.rows.map((x) => ({
      node: x.node,
      size: Number(x.size),
      root: x.root,
      note: x.note,
      receivedAt: x.received_at,
    }));
  }

  verifyNode(node: string, verifierKeys: readonly string[]): Promise<VerifyResult> {
    return verifyCentralNode(this.store, node, verifierKeys);
  }

  close(): Promise<void> {
    return this.store.close();
  }
}
