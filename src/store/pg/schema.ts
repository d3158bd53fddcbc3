/**
 * Schema of the gateway's own PostgreSQL store (`store: postgres://…`), one PostgreSQL
 * schema per store (`?schema=`, default `portwarden`), versioned migrations in its
 * `schema_migrations` (src/store/pg/ddl.ts).
 *
 * `events` mirrors the embedded store's events table (src/store/sqlite-schema.ts) with the
 * same columns and the same indexes, each ending in `seq` so a filtered keyset page is an
 * index range scan. It is partitioned by UTC day on `ts` (nanoseconds, declarative range
 * partitioning); the writer creates a day's partition, and the next day's, when the first
 * record of a day arrives, so the midnight rollover never waits on DDL. A primary key of a
 * partitioned table must contain the partition key, so it is (seq, ts); that a sequence is
 * stored once is kept by `head` instead: every commit moves `head.next_seq` from the
 * batch's first sequence to one past its last in the same statement as the insert, and a
 * batch that does not start at `head.next_seq` is refused (the writer also holds a session
 * advisory lock, so two gateways cannot write one store).
 *
 * Text search: `words` holds the statement / command / path as the words the embedded
 * store's tokenizer sees (runs of letters and digits, lower case, accents removed), space
 * separated with a space at each end, so `LIKE '% delete from %'` is exactly its phrase
 * match and `LIKE '% pg sl%'` its prefix match; `tsv` holds the distinct words (a GIN
 * index) so that a search reads only the records that contain every word. Texts with too
 * many distinct words for one tsvector keep `tsv` NULL and are read through a small
 * partial index instead.
 */
import { type Migration, nanosecondDay } from './ddl.js';

/** Columns of `events` in the order the writer sends them. */
export const EVENT_COLUMNS = [
  ['seq', 'bigint'],
  ['ts', 'bigint'],
  ['id', 'text'],
  ['action', 'text'],
  ['outcome', 'text'],
  ['listener', 'text'],
  ['conn', 'text'],
  ['src_ip', 'text'],
  ['src_port', 'integer'],
  ['dst_ip', 'text'],
  ['dst_port', 'integer'],
  ['up_local_ip', 'text'],
  ['up_local_port', 'integer'],
  ['up_ip', 'text'],
  ['up_port', 'integer'],
  ['user_name', 'text'],
  ['community_id', 'text'],
  ['up_community_id', 'text'],
  ['rule', 'text'],
  ['policy_version', 'text'],
  ['db_namespace', 'text'],
  ['operation', 'text'],
  ['class', 'text'],
  ['status', 'text'],
  ['node', 'text'],
  ['text', 'text'],
  ['words', 'text'],
  ['body', 'text'],
  ['leaf', 'bytea'],
] as const;

/** The columns a row is read back with (everything but the search helpers). */
export const READ_COLUMNS = EVENT_COLUMNS.map(([c]) => c).filter((c) => c !== 'words');

const INDEXES: readonly [string, string][] = [
  ['ts', '(ts)'],
  ['id', '(id)'],
  ['listener', '(listener, seq)'],
  ['action', '(action, seq)'],
  ['failure', "(seq) WHERE outcome = 'failure'"],
  ['user', '(user_name, seq)'],
  ['conn', '(conn, seq)'],
  ['src_ip', '(src_ip, seq)'],
  ['src_port', '(src_port, seq)'],
  ['dst_port', '(dst_port, seq)'],
  ['up_local_port', '(up_local_port, seq)'],
  ['up_port', '(up_port, seq)'],
  ['rule', '(rule, seq) WHERE rule IS NOT NULL'],
  ['namespace', '(db_namespace, seq) WHERE db_namespace IS NOT NULL'],
  ['operation', '(operation, seq) WHERE operation IS NOT NULL'],
  ['class', '(class, seq) WHERE class IS NOT NULL'],
  ['status', '(status, seq) WHERE status IS NOT NULL'],
  ['open_client', "(src_ip, src_port, ts) WHERE action = 'connection-open'"],
  ['open_upstream', "(up_local_ip, up_local_port, ts) WHERE action = 'connection-open'"],
  ['open_community', "(community_id) WHERE action = 'connection-open'"],
  ['open_up_community', "(up_community_id) WHERE action = 'connection-open'"],
  ['close_conn', "(conn) WHERE action = 'connection-close'"],
  ['tsv', 'USING gin (tsv)'],
  ['untokenized', '(seq) WHERE tsv IS NULL AND words IS NOT NULL'],
];

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events by day, head, tree nodes, checkpoints, meta',
    sql: `
CREATE TABLE meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE head (
  one boolean PRIMARY KEY DEFAULT true CHECK (one),
  next_seq bigint NOT NULL,
  last_ts bigint NOT NULL
);
INSERT INTO head (one, next_seq, last_ts) VALUES (true, 0, 0);
CREATE TABLE events (
${EVENT_COLUMNS.map(([c, t]) => `  ${c} ${t}${['seq', 'ts', 'id', 'action', 'leaf'].includes(c) ? ' NOT NULL' : ''},`).join('\n')}
  tsv tsvector,
  PRIMARY KEY (seq, ts)
) PARTITION BY RANGE (ts);
${INDEXES.map(([name, def]) => `CREATE INDEX events_${name} ON events ${def};`).join('\n')}
CREATE TABLE tree (level integer NOT NULL, idx bigint NOT NULL, hash bytea NOT NULL,
  PRIMARY KEY (level, idx));
CREATE TABLE checkpoints (size bigint PRIMARY KEY, ts bigint NOT NULL, root bytea NOT NULL,
  note text NOT NULL);
CREATE FUNCTION refuse(message text) RETURNS text LANGUAGE plpgsql AS
  $$ BEGIN RAISE EXCEPTION '%', message USING ERRCODE = 'P0001'; END $$;
`,
  },
];

export const SCHEMA_VERSION = MIGRATIONS.length;

/** Bounds of an `events` day partition. */
export const eventDay = nanosecondDay;

/** A PostgreSQL schema name this store accepts (it is spliced into SQL unquoted). */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
