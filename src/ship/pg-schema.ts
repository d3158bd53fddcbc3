/**
 * Schema of the central PostgreSQL store, as numbered migrations recorded in
 * `schema_migrations` and applied under an advisory lock (several collectors may start
 * at once).
 *
 * `records` is partitioned by day on `ts` (declarative range partitioning); a partition is
 * created when the first record of its day arrives. A unique index on a partitioned table
 * must contain the partition key, so the key is (node, seq, ts): a record's ts is part of
 * its hashed body, so a redelivered record conflicts with its first copy and
 * `ON CONFLICT DO NOTHING` drops it; a different record claiming a stored (node, seq) never
 * reaches the table, because the collector compares it with the stored leaf under the
 * node's row lock first. Indexes mirror the embedded store's, ending in `ts` (the order
 * across nodes) instead of the node-local sequence.
 */
import type { PoolClient } from 'pg';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

const RECORD_INDEXES: readonly [string, string][] = [
  ['ts', '(ts)'],
  ['id', '(id)'],
  ['node_seq', '(node, seq)'],
  ['listener', '(listener, ts)'],
  ['action', '(action, ts)'],
  ['outcome', '(outcome, ts)'],
  ['user', '(user_name, ts)'],
  ['conn', '(conn, ts)'],
  ['src_ip', '(src_ip, ts)'],
  ['src_port', '(src_port, ts)'],
  ['dst_port', '(dst_port, ts)'],
  ['up_local_port', '(up_local_port, ts)'],
  ['up_port', '(up_port, ts)'],
  ['rule', '(rule, ts) WHERE rule IS NOT NULL'],
  ['namespace', '(db_namespace, ts) WHERE db_namespace IS NOT NULL'],
  ['operation', '(operation, ts) WHERE operation IS NOT NULL'],
  ['class', '(class, ts) WHERE class IS NOT NULL'],
  ['status', '(status, ts) WHERE status IS NOT NULL'],
  ['module', '(module, ts) WHERE module IS NOT NULL'],
  ['open_client', "(src_ip, src_port, ts) WHERE action = 'connection-open'"],
  ['open_upstream', "(up_local_ip, up_local_port, ts) WHERE action = 'connection-open'"],
  ['open_community', "(community_id) WHERE action = 'connection-open'"],
  ['open_up_community', "(up_community_id) WHERE action = 'connection-open'"],
  ['close_conn', "(conn) WHERE action = 'connection-close'"],
];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'records by day, node chain state, pending, checkpoints, quarantine, findings',
    sql: `
CREATE TABLE records (
  node text NOT NULL,
  seq bigint NOT NULL,
  ts timestamptz NOT NULL,
  ts_ns bigint NOT NULL,
  id text,
  action text,
  outcome text,
  listener text,
  conn text,
  src_ip text,
  src_port integer,
  dst_ip text,
  dst_port integer,
  up_local_ip text,
  up_local_port integer,
  up_ip text,
  up_port integer,
  user_name text,
  community_id text,
  up_community_id text,
  rule text,
  policy_version text,
  db_namespace text,
  operation text,
  class text,
  status text,
  module text,
  text text,
  body text,
  leaf bytea NOT NULL,
  PRIMARY KEY (node, seq, ts)
) PARTITION BY RANGE (ts);
${RECORD_INDEXES.map(([name, def]) => `CREATE INDEX records_${name} ON records ${def};`).join('\n')}
CREATE TABLE node_state (
  node text PRIMARY KEY,
  next_seq bigint NOT NULL DEFAULT 0,
  frontier bytea NOT NULL DEFAULT '\\x',
  broken boolean NOT NULL DEFAULT false,
  checkpoint_size bigint,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE pending (
  node text NOT NULL,
  seq bigint NOT NULL,
  ts_ns bigint NOT NULL,
  body text,
  leaf bytea NOT NULL,
  note text,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node, seq)
);
CREATE TABLE checkpoints (
  node text NOT NULL,
  size bigint NOT NULL,
  root bytea NOT NULL,
  note text NOT NULL,
  key_id text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node, size)
);
CREATE TABLE quarantine (
  node text NOT NULL,
  seq bigint NOT NULL,
  ts_ns bigint NOT NULL,
  body text,
  leaf bytea NOT NULL,
  note text,
  reason text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (node, seq, leaf)
);
CREATE TABLE findings (
  id bigserial PRIMARY KEY,
  node text NOT NULL,
  seq bigint,
  kind text NOT NULL,
  detail text NOT NULL,
  ts timestamptz NOT NULL DEFAULT now(),
  record jsonb NOT NULL
);
CREATE INDEX findings_node ON findings (node, ts);
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

// Any constant shared by every portwarden process: serializes migrations and partition DDL.
const DDL_LOCK = 0x70775f63; // "pw_c"

/** Applies the migrations this database lacks, in one transaction each; returns the version. */
export async function migrate(client: PoolClient): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [DDL_LOCK]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const r = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM schema_migrations',
    );
    const current = r.rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION) {
      throw new Error(`central schema ${current} is newer than this build (${SCHEMA_VERSION})`);
    }
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [
        m.version,
        m.description,
      ]);
    }
    await client.query('COMMIT');
    return SCHEMA_VERSION;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

const DAY_MS = 86_400_000;

/** The UTC day number (days since the epoch) of a nanosecond timestamp. */
export function dayOf(tsNs: bigint): number {
  return Number(tsNs / 1_000_000n / BigInt(DAY_MS));
}

/** The partition name of a day: records_p20261122. */
export function partitionName(day: number): string {
  const d = new Date(day * DAY_MS).toISOString();
  return `records_p${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}`;
}

/** Creates the day partitions that do not exist yet (own transaction, under the DDL lock). */
export async function createPartitions(client: PoolClient, days: Iterable<number>): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [DDL_LOCK]);
    for (const day of days) {
      const from = new Date(day * DAY_MS).toISOString();
      const to = new Date((day + 1) * DAY_MS).toISOString();
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF records FOR VALUES FROM ('${from}') TO ('${to}')`,
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}
