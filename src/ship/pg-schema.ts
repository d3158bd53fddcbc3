/**
 * Schema of the central PostgreSQL store, as numbered migrations recorded in
 * `schema_migrations` and applied under an advisory lock (several collectors may start
 * at once; the migration runner and day partitions are shared with the gateway's own
 * PostgreSQL store: src/store/pg/ddl.ts).
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
import {
  type Migration,
  applyMigrations,
  createDayPartitions,
  dayOf,
  dayPartitionName,
  timestamptzDay,
} from '../store/index.js';

/** The hour of a record's `ts` (UTC, whatever the session's time zone). */
export const HOUR_OF_TS = "date_bin('1 hour', ts, timestamptz 'epoch')";

export const CONNECTION_COLUMNS =
  'node, conn, open_seq, open_ts, open_ts_ns, src_ip, src_port, up_local_ip, up_local_port, community_id, up_community_id, close_seq, close_ts, close_ts_ns';

/**
 * One `connections` row per (node, conn) of the connection-open and connection-close rows
 * of `source` (a table or CTE with the records' columns): the first open and first close.
 */
export function connectionRows(source: string): string {
  return `SELECT node, conn, o.seq, o.ts, o.ts_ns, o.src_ip, o.src_port, o.up_local_ip, o.up_local_port,
      o.community_id, o.up_community_id, c.seq, c.ts, c.ts_ns
    FROM (SELECT DISTINCT ON (node, conn) node, conn, seq, ts, ts_ns, src_ip, src_port, up_local_ip,
            up_local_port, community_id, up_community_id
          FROM ${source} WHERE action = 'connection-open' AND conn IS NOT NULL
          ORDER BY node, conn, seq) o
    FULL JOIN (SELECT DISTINCT ON (node, conn) node, conn, seq, ts, ts_ns
          FROM ${source} WHERE action = 'connection-close' AND conn IS NOT NULL
          ORDER BY node, conn, seq) c USING (node, conn)`;
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
  {
    version: 2,
    description: 'text search (words, tsv) and the node filter in time order',
    // words/tsv as in the gateway's PostgreSQL store (src/store/pg/schema.ts); rows stored
    // before this version are given their words by CentralStore.open (records_unworded).
    sql: `
ALTER TABLE records ADD COLUMN words text, ADD COLUMN tsv tsvector;
CREATE INDEX records_tsv ON records USING gin (tsv);
CREATE INDEX records_untokenized ON records (ts) WHERE tsv IS NULL AND words IS NOT NULL;
CREATE INDEX records_unworded ON records (ts) WHERE words IS NULL AND text IS NOT NULL;
CREATE INDEX records_node_ts ON records (node, ts);
CREATE INDEX records_policy_version ON records (policy_version, ts) WHERE policy_version IS NOT NULL;
`,
  },
  {
    version: 3,
    description: 'hourly rollup and connections, kept by the collector, backfilled from records',
    // Kept in the collector's insert (central-records.ts: only rows actually inserted count,
    // so a redelivered record changes nothing) and read by central-rollup.ts and
    // central-conns.ts. NULLS NOT DISTINCT (PostgreSQL 15): a record without a listener,
    // action or outcome has one rollup row per hour like any other key.
    sql: `
CREATE TABLE record_hours (
  hour timestamptz NOT NULL,
  node text NOT NULL,
  listener text,
  action text,
  outcome text,
  n bigint NOT NULL,
  CONSTRAINT record_hours_key UNIQUE NULLS NOT DISTINCT (hour, node, listener, action, outcome)
);
CREATE TABLE connections (
  node text NOT NULL,
  conn text NOT NULL,
  open_seq bigint,
  open_ts timestamptz,
  open_ts_ns bigint,
  src_ip text,
  src_port integer,
  up_local_ip text,
  up_local_port integer,
  community_id text,
  up_community_id text,
  close_seq bigint,
  close_ts timestamptz,
  close_ts_ns bigint,
  PRIMARY KEY (node, conn)
);
INSERT INTO record_hours (hour, node, listener, action, outcome, n)
  SELECT ${HOUR_OF_TS}, node, listener, action, outcome, count(*)
  FROM records GROUP BY 1, 2, 3, 4, 5;
INSERT INTO connections (${CONNECTION_COLUMNS})
  ${connectionRows('records')};
CREATE INDEX connections_client ON connections (src_ip, src_port, open_ts_ns) WHERE open_seq IS NOT NULL;
CREATE INDEX connections_upstream ON connections (up_local_ip, up_local_port, open_ts_ns) WHERE open_seq IS NOT NULL;
CREATE INDEX connections_community ON connections (community_id) WHERE community_id IS NOT NULL;
CREATE INDEX connections_up_community ON connections (up_community_id) WHERE up_community_id IS NOT NULL;
ANALYZE record_hours;
ANALYZE connections;
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

// Any constant shared by every portwarden process: serializes migrations and partition DDL.
const DDL_LOCK = 0x70775f63; // "pw_c"

/** Applies the migrations this database lacks, in one transaction; returns the version. */
export function migrate(client: PoolClient): Promise<number> {
  return applyMigrations(client, MIGRATIONS, DDL_LOCK);
}

export { dayOf };

/** The partition name of a day: records_p20261122. */
export function partitionName(day: number): string {
  return dayPartitionName('records', day);
}

/** Creates the day partitions that do not exist yet (own transaction, under the DDL lock). */
export function createPartitions(client: PoolClient, days: Iterable<number>): Promise<void> {
  return createDayPartitions(client, 'records', days, timestamptzDay, DDL_LOCK);
}
