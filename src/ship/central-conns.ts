/**
 * Reads of the central `connections` table (one row per (node, connection), kept by the
 * collector's insert from connection-open and connection-close records: central-records.ts,
 * migration 3 in pg-schema.ts). `who` and `--community-id` start here — one index lookup in
 * an unpartitioned table — instead of planning a query over every day partition of
 * `records`; the records themselves are then read by (node, seq, ts), the ts a constant that
 * leaves the planner one partition.
 */
import type pg from 'pg';
import { pgText } from '../store/pg/index.js';
import { COLUMNS, type RawRecord } from './central-records.js';
import { timestamptzText } from './central-query.js';

/** The (node, connection) pairs of a flow: connections whose open carries the id on either leg. */
export interface Flow {
  readonly node: string;
  readonly conns: readonly string[];
}

/** The connections of `communityId`, grouped by node (node and connection ids in order). */
export async function flowOf(pool: pg.Pool, communityId: string): Promise<Flow[]> {
  const id = pgText(communityId);
  const r = await pool.query<{ node: string; conns: string[] }>(
    `SELECT node, array_agg(conn ORDER BY conn) AS conns FROM (
       SELECT node, conn FROM connections WHERE community_id = $1
       UNION SELECT node, conn FROM connections WHERE up_community_id = $1) f
     GROUP BY node ORDER BY node`,
    [id],
  );
  return r.rows;
}

export interface WhoRows {
  readonly leg: 'client' | 'upstream';
  readonly open: RawRecord;
  readonly close: RawRecord | null;
}

/**
 * The newest connection that opened with `ip:port` on its client or upstream leg at or
 * before `atNs`, on any node, with its open and close records (close null when none is
 * stored).
 */
export async function connectionAtRows(
  pool: pg.Pool,
  ip: string,
  port: number,
  atNs: bigint,
): Promise<WhoRows | null> {
  const c = await pool.query<{
    node: string;
    open_seq: string;
    open_ts_ns: string;
    close_seq: string | null;
    close_ts_ns: string | null;
    leg: 'client' | 'upstream';
  }>(
    `(SELECT node, open_seq, open_ts_ns, close_seq, close_ts_ns, 'client' AS leg FROM connections
       WHERE src_ip = $1 AND src_port = $2 AND open_ts_ns <= $3::bigint AND open_seq IS NOT NULL
       ORDER BY open_ts_ns DESC LIMIT 1)
     UNION ALL
     (SELECT node, open_seq, open_ts_ns, close_seq, close_ts_ns, 'upstream' AS leg FROM connections
       WHERE up_local_ip = $1 AND up_local_port = $2 AND open_ts_ns <= $3::bigint AND open_seq IS NOT NULL
       ORDER BY open_ts_ns DESC LIMIT 1)
     ORDER BY open_ts_ns DESC LIMIT 1`,
    [pgText(ip), port, atNs.toString()],
  );
  const hit = c.rows[0];
  if (hit === undefined) return null;
  const seqs = [hit.open_seq];
  const times = [timestamptzText(BigInt(hit.open_ts_ns))];
  if (hit.close_seq !== null && hit.close_ts_ns !== null) {
    seqs.push(hit.close_seq);
    times.push(timestamptzText(BigInt(hit.close_ts_ns)));
  }
  // ts as constants: the planner keeps the one or two day partitions that hold them.
  const r = await pool.query<RawRecord>(
    `SELECT ${COLUMNS} FROM records
     WHERE node = $1 AND seq = ANY($2::bigint[]) AND ts = ANY($3::timestamptz[])`,
    [hit.node, seqs, times],
  );
  const open = r.rows.find((x) => x.seq === hit.open_seq);
  if (open === undefined) return null;
  const close =
    hit.close_seq === null ? null : (r.rows.find((x) => x.seq === hit.close_seq) ?? null);
  return { leg: hit.leg, open, close };
}
