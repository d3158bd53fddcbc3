/** The log_v3 row as SQLite returns it, and its mapping to EventRow. */
import type { EventRow } from './types.js';

export interface RawRow {
  seq: bigint;
  ts: bigint;
  id: string;
  action: string;
  outcome: string | null;
  listener: string | null;
  conn: string | null;
  src_ip: string | null;
  src_port: bigint | null;
  dst_ip: string | null;
  dst_port: bigint | null;
  up_local_ip: string | null;
  up_local_port: bigint | null;
  up_ip: string | null;
  up_port: bigint | null;
  user: string | null;
  community_id: string | null;
  up_community_id: string | null;
  rule: string | null;
  policy_version: string | null;
  db_namespace: string | null;
  operation: string | null;
  class: string | null;
  status: string | null;
  node: string | null;
  text: string | null;
  body: string | null;
  leaf: Buffer;
}

/** The columns a writer supplies (the rest are derived from the body by SQLite). */
export const WRITTEN_COLUMNS =
  'seq, ts, id, action, outcome, listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, user, community_id, text, body, leaf';

export const COLUMNS = `${WRITTEN_COLUMNS}, up_community_id, rule, policy_version, db_namespace, operation, class, status, node`;

function num(v: bigint | number | null): number | null {
  return v === null ? null : Number(v);
}

export function toRow(r: RawRow): EventRow {
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
    user: r.user,
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
    leafHash: r.leaf,
  };
}
