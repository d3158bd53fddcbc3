/**
 * Writes to the central store inside the transaction the collector holds: a node's chain
 * state under its row lock, records, pending and quarantined records, findings and
 * checkpoints (the collector's chain logic: chain.ts).
 */
import type pg from 'pg';
import { insertStatement } from './central-records.js';
import type { CentralRow } from './central-row.js';
import type { CentralStore } from './pg-store.js';

export interface NodeState {
  readonly node: string;
  readonly nextSeq: number;
  /** The Merkle frontier: complete-subtree roots, largest first (Frontier.restore order). */
  readonly frontier: Buffer;
  readonly broken: boolean;
  readonly checkpointSize: number | null;
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
    const insert = insertStatement(rows);
    await this.client.query(insert.text, insert.values);
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
