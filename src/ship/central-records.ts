/**
 * A row of the central `records` table: its columns, a row read back as a CentralRow, and the
 * multi-row INSERT of CentralRows (search words computed and NUL stored as U+FFFD, as the
 * gateway's own PostgreSQL store does: src/store/pg/row.ts). The indexed columns have the
 * names and types of every store's (RecordColumns).
 */
import type { RecordColumns } from '../store/index.js';
import { pgText, wordsColumn } from '../store/pg/index.js';
import type { CentralRow } from './central-row.js';
import { CONNECTION_COLUMNS, HOUR_OF_TS, connectionRows } from './pg-schema.js';

export const COLUMNS =
  'node, seq, ts_ns, id, action, outcome, listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, user_name, community_id, up_community_id, rule, policy_version, db_namespace, operation, class, status, module, text, body, leaf';
const ARRAY_TYPES =
  'text[], bigint[], bigint[], text[], text[], text[], text[], text[], text[], integer[], text[], integer[], text[], integer[], text[], integer[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], text[], bytea[]';

/** A `records` row as the driver returns it (int8 as decimal strings, bytea as a Buffer). */
export interface RawRecord extends RecordColumns {
  node: string;
  seq: string;
  ts_ns: string;
  id: string | null;
  action: string | null;
  module: string | null;
  leaf: Buffer;
}

// A literal of fixed shape, like the local stores' toEventRow (src/store/event-row.ts) rather
// than built on it: a CentralRow has the shipping node and `module` where an EventRow has the
// observer node, and a spread of shared parts costs several times more per row (verify reads
// every record of a node).
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

const INSERT_TYPES = `${ARRAY_TYPES}, text[], text[]`.split(', ');
/** Columns before `body` hold text PostgreSQL must get without NUL (the body is JSON-escaped). */
const BODY = COLUMNS.split(', ').indexOf('body');
// The rows actually inserted (a redelivered record is not) feed the hourly rollup and the
// connections table in the same statement, so both stay exact under redelivery; their
// upserts go in key order (two writers never wait on each other in a cycle).
const INSERT_SQL = `WITH ins AS (
  INSERT INTO records (${COLUMNS}, words, tsv, ts)
  SELECT ${COLUMNS.split(', ')
    .map((c) => `u.${c}`)
    .join(', ')}, u.words,
    CASE WHEN u.lexemes IS NULL THEN NULL ELSE array_to_tsvector(string_to_array(u.lexemes, ' ')) END,
    timestamptz 'epoch' + (u.ts_ns / 1000) * interval '1 microsecond'
  FROM unnest(${INSERT_TYPES.map((t, i) => `$${i + 1}::${t}`).join(', ')}) AS u(${COLUMNS}, words, lexemes)
  ON CONFLICT DO NOTHING
  RETURNING node, seq, ts, ts_ns, action, outcome, listener, conn, src_ip, src_port, up_local_ip,
    up_local_port, community_id, up_community_id
), hours AS (
  INSERT INTO record_hours AS h (hour, node, listener, action, outcome, n)
  SELECT ${HOUR_OF_TS}, node, listener, action, outcome, count(*) FROM ins
  GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
  ON CONFLICT (hour, node, listener, action, outcome) DO UPDATE SET n = h.n + EXCLUDED.n
), conns AS (
  INSERT INTO connections AS c (${CONNECTION_COLUMNS})
  SELECT * FROM (${connectionRows('ins')}) x ORDER BY node, conn
  ON CONFLICT (node, conn) DO UPDATE SET
    ${CONNECTION_COLUMNS.split(', ')
      .slice(2)
      .map((col) => {
        const first = col.startsWith('close_') ? 'close_seq' : 'open_seq';
        return `${col} = CASE WHEN c.${first} IS NULL THEN EXCLUDED.${col} ELSE c.${col} END`;
      })
      .join(',\n    ')}
)
SELECT count(*)::int AS n FROM ins`;

/** One INSERT of `rows` (a row already stored is left as it is): its SQL and column arrays. */
export function insertStatement(rows: readonly CentralRow[]): {
  text: string;
  values: unknown[][];
} {
  const cols: unknown[][] = INSERT_TYPES.map(() => []);
  for (const r of rows) {
    const text = pgText(r.text);
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
    values.forEach((v, i) => cols[i]?.push(typeof v === 'string' && i < BODY ? pgText(v) : v));
  }
  return { text: INSERT_SQL, values: cols };
}
