/**
 * A record as a store reads it back, under its column names, and its mapping to EventRow:
 * the one mapping of the embedded store (sqlite-row.ts selects its `user` column as
 * `user_name`) and the PostgreSQL store (pg/row.ts); the central store (src/ship) reads the
 * same `RecordColumns`.
 */
import type { EventRow } from './types.js';

/** The indexed columns every store keeps under the same name; `Int` is how ports come back. */
export interface RecordColumns<Int extends number | bigint = number> {
  outcome: string | null;
  listener: string | null;
  conn: string | null;
  src_ip: string | null;
  src_port: Int | null;
  dst_ip: string | null;
  dst_port: Int | null;
  up_local_ip: string | null;
  up_local_port: Int | null;
  up_ip: string | null;
  up_port: Int | null;
  user_name: string | null;
  community_id: string | null;
  up_community_id: string | null;
  rule: string | null;
  policy_version: string | null;
  db_namespace: string | null;
  operation: string | null;
  class: string | null;
  status: string | null;
  text: string | null;
  body: string | null;
}

/**
 * A row of the record table: SQLite returns integers as bigint (safeIntegers) and the leaf
 * as a Buffer; the PostgreSQL worker returns int8 as decimal strings and bytea as bytes.
 */
export interface RawEventRow<Int extends number | bigint = number> extends RecordColumns<Int> {
  seq: bigint | string;
  ts: bigint | string;
  id: string;
  action: string;
  node: string | null;
  leaf: Uint8Array;
}

/** A Buffer over the same bytes (no copy). */
export function bytes(u: Uint8Array): Buffer {
  return Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

function num(v: bigint | number | null): number | null {
  return v === null ? null : Number(v);
}

// One object literal rather than a spread of shared parts: a literal of fixed shape is several
// times cheaper per row, and `iterate` maps every record of the log.
export function toEventRow(r: RawEventRow<number | bigint>): EventRow {
  return {
    sequence: Number(r.seq),
    timestampNs: BigInt(r.ts),
    id: r.id,
    action: r.action,
    outcome: r.outcome,
    listener: r.listener,
    connectionId: r.conn,
    sourceIp: r.src_ip,
    sourcePort: num(r.src_port),
    destinationIp: r.dst_ip,
    destinationPort: num(r.dst_port),
    upstreamLocalIp: r.up_local_ip,
    upstreamLocalPort: num(r.up_local_port),
    upstreamIp: r.up_ip,
    upstreamPort: num(r.up_port),
    user: r.user_name,
    communityId: r.community_id,
    upstreamCommunityId: r.up_community_id,
    rule: r.rule,
    policyVersion: r.policy_version,
    dbNamespace: r.db_namespace,
    operation: r.operation,
    statementClass: r.class,
    status: r.status,
    node: r.node,
    text: r.text,
    body: r.body,
    leafHash: bytes(r.leaf),
  };
}
