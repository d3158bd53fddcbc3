/**
 * The central PostgreSQL store: records of every node, each node's chain state, records
 * waiting for a predecessor (pending), quarantined records, findings and checkpoints.
 * Writes happen inside a transaction the collector holds (`CentralTx`); reads (search,
 * who, verify) go through the pool. Schema and migrations: pg-schema.ts.
 */
import pg from 'pg';
import { PortwardenError, errorMessage } from '../errors.js';
import type { CentralRow } from './central-row.js';
import { wordsColumn } from '../store/pg/index.js';
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

export interface NodeState {
  readonly node: string;
  readonly nextSeq: number;
  /** The Merkle frontier: complete-subtree roots, largest first (Frontier.restore order). */
  readonly frontier: Buffer;
  readonly broken: boolean;
  readonly checkpointSize: number | null;
}

export interface NodeSummary extends NodeState {
  readonly pending: number;
  readonly quarantined: number;
  readonly findings: number;
}

export interface Finding {
  readonly node: string;
  readonly sequence: number | null;
  readonly kind: string;
  readonly detail: string;
  readonly record: Record<string, unknown>;
}

export interface PendingRecord {
  readonly node: string;
  readonly sequence: number;
  readonly timestampNs: bigint;
  readonly body: string | null;
  readonly leafHash: Buffer;
  readonly note: string | null;
}

export const COLUMNS =
  'node, seq, ts_ns, id, action, outcome, listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, user_name, community_id, up_community_id, rule, policy_version, db_namespace, operation, class, status, module, text, body, leaf';
const ARRAY_TYPES =
  'text[], bigint[], bigint[], text[], text[], text[], text[], text[], text[], integer[], text[], integer[], text[], integer[], text[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], bytea[]';

export interface RawRecord {
  node: string;
  seq: string;
  ts_ns: string;
  id: string | null;
  action: string | null;
  outcome: string | null;
  listener: string | null;
  conn: string | null;
  src_ip: string | null;
  src_port: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  up_local_ip: string | null;
  up_local_port: number | null;
  up_ip: string | null;
  up_port: number | null;
  user_name: string | null;
  community_id: string | null;
  up_community_id: string | null;
  rule: string | null;
  policy_version: string | null;
  db_namespace: string | null;
  operation: string | null;
  class: string | null;
  status: string | null;
  module: string | null;
  text: string | null;
  body: string | null;
  leaf: Buffer;
}

/** PostgreSQL text cannot hold NUL (a hostile statement can): stored as U+FFFD. */
function clean<T extends string | null>(v: T): T {
  return (v !== null && v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v) as T;
}

export function fromRaw(r: RawRecord): CentralRow {
  return {
    node: r.node,
    sequence: Number(r.seq),
    timestampNs: BigInt(r.ts_ns),
    id: r.id,
    action: r.action,
    outcome: r.outcome,
    listener: r.listener,
    connectionId: r.conn,
    sourceIp: r.src_ip,
    sourcePort: r.src_port,
    destinationIp: r.dst_ip,
    destinationPort: r.dst_port,
    upstreamLocalIp: r.up_local_ip,
    upstreamLocalPort: r.up_local_port,
    upstreamIp: r.up_ip,
    upstreamPort: r.up_port,
    user: r.user_name,
    communityId: r.community_id,
    upstreamCommunityId: r.up_community_id,
    rule: r.rule,
    policyVersion: r.policy_version,
    dbNamespace: r.db_namespace,
    operation: r.operation,
    statementClass: r.class,
    status: r.status,
    module: r.module,
    text: r.text,
    body: r.body,
    leafHash: r.leaf,
  };
}

/** Write primitives on one open transaction (the collector's). */
export class CentralTx {
  constructor(
    readonly client: pg.PoolClient,
    private readonly store: CentralStore,
  ) {}

  /** The node's chain state, locked until the transaction ends (created when new). */
  async lockNode(node: string): Promise<NodeState> {
    await this.client.query(
      'INSERT INTO node_state (node) VALUES ($1) ON CONFLICT (node) DO NOTHING',
      [node],
    );
    const r = await this.client.query<{
      next_seq: string;
      frontier: Buffer;
      broken: boolean;
      checkpoint_size: string | null;
    }>(
      'SELECT next_seq, frontier, broken, checkpoint_size FROM node_state WHERE node = $1 FOR UPDATE',
      [node],
    );
    const row = r.rows[0];
    if (row === undefined) throw new Error(`node_state row for ${node} vanished`);
    return {
      node,
      nextSeq: Number(row.next_seq),
      frontier: row.frontier,
      broken: row.broken,
      checkpointSize: row.checkpoint_size === null ? null : Number(row.checkpoint_size),
    };
  }

  async saveNode(s: NodeState): Promise<void> {
    await this.client.query(
      'UPDATE node_state SET next_seq = $2, frontier = $3, broken = $4, checkpoint_size = $5, updated_at = now() WHERE node = $1',
      [s.node, s.nextSeq, s.frontier, s.broken, s.checkpointSize],
    );
  }

  /** The stored leaf of (node, seq), if the record is in `records`. */
  async storedLeaf(node: string, seq: number): Promise<Buffer | null> {
    const r = await this.client.query<{ leaf: Buffer }>(
      'SELECT leaf FROM records WHERE node = $1 AND seq = $2',
      [node, seq],
    );
    return r.rows[0]?.leaf ?? null;
  }

  /** Inserts rows (one statement); a row already there is left as it is. */
  async insertRecords(rows: readonly CentralRow[]): Promise<void> {
    if (rows.length === 0) return;
    await this.store.ensurePartitions(rows.map((r) => r.timestampNs));
    const cols: unknown[][] = Array.from({ length: 31 }, () => []);
    for (const r of rows) {
      const text = clean(r.text);
      const w = wordsColumn(text);
      const values: unknown[] = [
        r.node,
        r.sequence,
        r.timestampNs.toString(),
        r.id,
        r.action,
        r.outcome,
        r.listener,
        r.connectionId,
        r.sourceIp,
        r.sourcePort,
        r.destinationIp,
        r.destinationPort,
        r.upstreamLocalIp,
        r.upstreamLocalPort,
        r.upstreamIp,
        r.upstreamPort,
        r.user,
        r.communityId,
        r.upstreamCommunityId,
        r.rule,
        r.policyVersion,
        r.dbNamespace,
        r.operation,
        r.statementClass,
        r.status,
        r.module,
        text,
        r.body,
        r.leafHash,
        w.words,
        w.lexemes,
      ];
      values.forEach((v, i) => cols[i]?.push(typeof v === 'string' && i < 27 ? clean(v) : v));
    }
    const params = `${ARRAY_TYPES}, text[], text[]`.split(', ').map((t, i) => `$${i + 1}::${t}`);
    await this.client.query(
      `INSERT INTO records (${COLUMNS}, words, tsv, ts)
       SELECT ${COLUMNS.split(', ')
         .map((c) => `u.${c}`)
         .join(', ')}, u.words,
         CASE WHEN u.lexemes IS NULL THEN NULL ELSE array_to_tsvector(string_to_array(u.lexemes, ' ')) END,
         timestamptz 'epoch' + (u.ts_ns / 1000) * interval '1 microsecond'
       FROM unnest(${params.join(', ')}) AS u(${COLUMNS}, words, lexemes)
       ON CONFLICT DO NOTHING`,
      cols,
    );
  }

  /** Adds records that wait for a predecessor (one statement). */
  async addPending(list: readonly PendingRecord[]): Promise<void> {
    if (list.length === 0) return;
    await this.client.query(
      `INSERT INTO pending (node, seq, ts_ns, body, leaf, note)
       SELECT * FROM unnest($1::text[], $2::bigint[], $3::bigint[], $4::text[], $5::bytea[], $6::text[])
       ON CONFLICT DO NOTHING`,
      [
        list.map((p) => p.node),
        list.map((p) => p.sequence),
        list.map((p) => p.timestampNs.toString()),
        list.map((p) => p.body),
        list.map((p) => p.leafHash),
        list.map((p) => p.note),
      ],
    );
  }

  async pendingCount(node: string): Promise<number> {
    const r = await this.client.query<{ n: string }>(
      'SELECT count(*) AS n FROM pending WHERE node = $1',
      [node],
    );
    return Number(r.rows[0]?.n ?? 0);
  }

  /** Pending records of `node` from `from` on, in order (the caller takes the contiguous run). */
  async pendingFrom(node: string, from: number, limit: number): Promise<PendingRecord[]> {
    const r = await this.client.query<{
      seq: string;
      ts_ns: string;
      body: string | null;
      leaf: Buffer;
      note: string | null;
    }>(
      'SELECT seq, ts_ns, body, leaf, note FROM pending WHERE node = $1 AND seq >= $2 ORDER BY seq LIMIT $3',
      [node, from, limit],
    );
    return r.rows.map((row) => ({
      node,
      sequence: Number(row.seq),
      timestampNs: BigInt(row.ts_ns),
      body: row.body,
      leafHash: row.leaf,
      note: row.note,
    }));
  }

  /** Removes pending records [from, to) of `node`. */
  async deletePending(node: string, from: number, to: number): Promise<void> {
    await this.client.query('DELETE FROM pending WHERE node = $1 AND seq >= $2 AND seq < $3', [
      node,
      from,
      to,
    ]);
  }

  async quarantine(p: PendingRecord, reason: string): Promise<void> {
    await this.client.query(
      'INSERT INTO quarantine (node, seq, ts_ns, body, leaf, note, reason) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT DO NOTHING',
      [p.node, p.sequence, p.timestampNs.toString(), p.body, p.leafHash, p.note, reason],
    );
  }

  /** Moves every pending record of `node` into quarantine. */
  async quarantinePending(node: string, reason: string): Promise<void> {
    await this.client.query(
      `WITH moved AS (DELETE FROM pending WHERE node = $1 RETURNING *)
       INSERT INTO quarantine (node, seq, ts_ns, body, leaf, note, reason)
       SELECT node, seq, ts_ns, body, leaf, note, $2 FROM moved ON CONFLICT DO NOTHING`,
      [node, reason],
    );
  }

  async addFinding(f: Finding): Promise<void> {
    await this.client.query(
      'INSERT INTO findings (node, seq, kind, detail, record) VALUES ($1, $2, $3, $4, $5)',
      [f.node, f.sequence, f.kind, f.detail, JSON.stringify(f.record)],
    );
  }

  async addCheckpoint(node: string, size: number, root: Buffer, note: string, keyId: string) {
    await this.client.query(
      'INSERT INTO checkpoints (node, size, root, note, key_id) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING',
      [node, size, root, note, keyId],
    );
  }
}

export class CentralStore {
  readonly pool: pg.Pool;
  private readonly partitions = new Set<number>();

  private constructor(pool: pg.Pool) {
    this.pool = pool;
  }

  /** Connects and applies missing migrations. */
  static async open(url: string, options: { readonly max?: number } = {}): Promise<CentralStore> {
    const pool = new pg.Pool({ connectionString: url, max: options.max ?? 4 });
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
    const p = new Params();
    const where = centralWhere(filter, p);
    const limit = Math.min(Math.max(Math.round(filter.limit ?? 100), 1), MAX_CENTRAL_PAGE);
    const r = await this.pool.query<RawRecord>(
      `SELECT ${COLUMNS} FROM records ${joinWhere(where)} ${orderBy(filter.order)} LIMIT ${p.add(limit + 1)}`,
      p.values,
    );
    const rows = r.rows.slice(0, limit).map(fromRaw);
    const last = rows[rows.length - 1];
    const next =
      r.rows.length > limit && last !== undefined
        ? encodeCursor({ tsNs: last.timestampNs, node: last.node, seq: last.sequence })
        : null;
    return { rows, next };
  }

  /** Records matching `filter` (its cursor, order and limit ignored). */
  async count(filter: CentralFilter): Promise<number> {
    const p = new Params();
    const { after: _a, ...f } = filter;
    const r = await this.pool.query<{ n: string }>(
      `SELECT count(*) AS n FROM records ${joinWhere(centralWhere(f, p))}`,
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
   * the newest connection-open at or before `atNs`, with its close if recorded.
   */
  async connectionAt(
    ip: string,
    port: number,
    atNs: bigint,
  ): Promise<{ leg: 'client' | 'upstream'; open: CentralRow; close: CentralRow | null } | null> {
    const at = atNs.toString();
    const r = await this.pool.query<RawRecord & { leg: 'client' | 'upstream' }>(
      `(SELECT ${COLUMNS}, 'client' AS leg FROM records
         WHERE action = 'connection-open' AND src_ip = $1 AND src_port = $2 AND ts_ns <= $3::bigint
         ORDER BY ts DESC LIMIT 1)
       UNION ALL
       (SELECT ${COLUMNS}, 'upstream' AS leg FROM records
         WHERE action = 'connection-open' AND up_local_ip = $1 AND up_local_port = $2 AND ts_ns <= $3::bigint
         ORDER BY ts DESC LIMIT 1)
       ORDER BY ts_ns DESC LIMIT 1`,
      [ip, port, at],
    );
    const open = r.rows[0];
    if (open === undefined) return null;
    const c = await this.pool.query<RawRecord>(
      `SELECT ${COLUMNS} FROM records WHERE action = 'connection-close' AND conn = $1 AND node = $2 LIMIT 1`,
      [open.conn, open.node],
    );
    const close = c.rows[0];
    const closed = close === undefined ? null : fromRaw(close);
    if (closed !== null && closed.timestampNs < atNs) return null;
    return { leg: open.leg, open: fromRaw(open), close: closed };
  }
}
