/**
 * Schema of the embedded store. The version is in the table names (undici's habit).
 *
 * v3 splits the store in two files (docs/architecture.md, "The store: a log and its index"):
 *
 * - **The log** (`portwarden.db`): `log_v3`, one row per record with every column a search
 *   filters on, the canonical body and the leaf hash; the Merkle subtree hashes; the signed
 *   checkpoints; meta. It has no secondary index: an append is a B-tree append at the end
 *   of the primary key, so the Recorder's commit — on the forwarding path in strict mode —
 *   writes a few pages whatever the store's size. This file is the evidence. From v5 a
 *   record is written narrow — sequence, time, id, action, body and leaf — and its other
 *   columns are read from the body (sqlite-log-rows.ts); rows written before, and pruned
 *   rows, hold them. v5 changes no table: the version tells an earlier build, which would
 *   read those NULL columns as they are, to refuse the log.
 * - **The index** (`portwarden.index.db`): `events_v3`, the same columns without body and
 *   leaf, the secondary indexes and the FTS5 table. It is derived data, built from the log
 *   in batches by a worker thread (sqlite-indexer.ts) a fraction of a second behind, and
 *   rebuilt from the log whenever it is missing, stale or belongs to another log. Searches
 *   read records before `indexed_upto` through it and the few newer ones from the log's
 *   tail with the same SQL (sqlite-search.ts), so a record is searchable once committed.
 *
 * Index design (unchanged from v2): indexes end in `seq` so that a filter on one column
 * walks its index in sequence order and a keyset page is a range scan with no sort; time
 * windows become sequence ranges through the `ts` index; `who` and connection-story
 * lookups use small partial indexes over connection-open / close records; failures get a
 * partial index; dense low-cardinality columns (policy version, node) are not indexed; the
 * FTS table keeps no per-row sizes (`columnsize = 0`: no ranking is done).
 */
import { PortwardenError } from '../errors.js';
import { BODY_COLUMNS, NARROW_COLUMNS } from './sqlite-log-rows.js';

export const SCHEMA_VERSION = 5;

/** Levels a tree key has room for (the factor of the completing leaf in `treeKey`). */
const TREE_KEY_LEVELS = 64;

/**
 * v4 keys the Merkle subtree hashes (`tree_v2`) by when each subtree completes: node
 * (level, idx) covers leaves [idx·2^level, (idx+1)·2^level) and completes with leaf
 * c = (idx+1)·2^level − 1, so its key c·64 + level grows with every append and each commit
 * writes the nodes at the end of one B-tree. `tree_v1` was keyed (level, idx): every level
 * was appended in its own part of the table, a commit wrote a page for each (~7% of appends
 * at 3M records). Levels 1–3 are not kept (sqlite-store.ts).
 */
export function treeKey(level: number, idx: number): number {
  return ((idx + 1) * 2 ** level - 1) * TREE_KEY_LEVELS + level;
}

/**
 * Lowest interior level of the Merkle tree kept in `tree_v2` (audit/tree.ts FOLDED_LEVELS
 * + 1): levels 1–3 are folded from the leaves when read.
 */
export const LOWEST_KEPT_LEVEL = 4;

/**
 * The `tree_v2` key of Merkle node (level, index), or null for a level that is folded
 * instead of kept; throws for a node past the keys' range.
 */
export function keptNodeKey(level: number, index: number): number | null {
  if (level < LOWEST_KEPT_LEVEL) return null;
  const key = treeKey(level, index);
  if (!Number.isSafeInteger(key)) {
    throw new PortwardenError('PW_ERR_STORE', {
      detail: `cannot store Merkle node (level ${level}, index ${index})`,
    });
  }
  return key;
}

/**
 * A record as the Recorder writes it: narrow (sqlite-log-rows.ts). The body may come as
 * UTF-8 bytes (the writer thread's): it is stored as text all the same.
 */
export const INSERT_NARROW_SQL = `INSERT INTO log_v3 (${NARROW_COLUMNS}) VALUES (?, ?, ?, ?, CAST(? AS TEXT), ?)`;
/** A kept Merkle node, by `keptNodeKey`. */
export const PUT_NODE_SQL = 'INSERT OR REPLACE INTO tree_v2 (k, hash) VALUES (?, ?)';

/** Move the kept levels of a v3 log's `tree_v1` into `tree_v2`, in key order (`treeKey` in SQL). */
export function migrationFromTreeV1Sql(): string {
  return `
INSERT OR REPLACE INTO tree_v2 (k, hash)
  SELECT (((idx + 1) << level) - 1) * ${TREE_KEY_LEVELS} + level, hash FROM tree_v1
  WHERE level >= ${LOWEST_KEPT_LEVEL} ORDER BY 1;
DROP TABLE tree_v1;
`;
}

/** The columns derive.ts computes from a record (the rest of a wide row comes from the tuple). */
export const DERIVED_COLUMN_NAMES = [
  'up_community_id',
  'rule',
  'policy_version',
  'db_namespace',
  'operation',
  'class',
  'status',
  'node',
] as const;

/** Every searchable column, in the order the log and the index share them. */
export const INDEXED_COLUMNS =
  'seq, ts, id, action, outcome, listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, user, community_id, text, up_community_id, rule, policy_version, db_namespace, operation, class, status, node';

const COLUMN_DEFS = `
  seq INTEGER PRIMARY KEY,
  ts INTEGER NOT NULL,
  id TEXT NOT NULL,
  action TEXT NOT NULL,
  outcome TEXT,
  listener TEXT,
  conn TEXT,
  src_ip TEXT,
  src_port INTEGER,
  dst_ip TEXT,
  dst_port INTEGER,
  up_local_ip TEXT,
  up_local_port INTEGER,
  up_ip TEXT,
  up_port INTEGER,
  user TEXT,
  community_id TEXT,
  up_community_id TEXT,
  rule TEXT,
  policy_version TEXT,
  db_namespace TEXT,
  operation TEXT,
  class TEXT,
  status TEXT,
  node TEXT,
  text TEXT`;

/** The log file. */
export const LOG_SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS log_v3 (${COLUMN_DEFS},
  body TEXT,
  leaf BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS tree_v2 (k INTEGER PRIMARY KEY, hash BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS checkpoints_v1 (size INTEGER PRIMARY KEY, ts INTEGER NOT NULL,
  root BLOB NOT NULL, note TEXT NOT NULL);
`;

/** The index file's secondary indexes (dropped and rebuilt sorted by a bulk build). */
export const INDEX_DEFINITIONS: readonly (readonly [string, string])[] = [
  ['events_v3_ts', '(ts)'],
  ['events_v3_id', '(id)'],
  ['events_v3_listener', '(listener, seq)'],
  ['events_v3_action', '(action, seq)'],
  ['events_v3_failure', "(seq) WHERE outcome = 'failure'"],
  ['events_v3_user', '(user, seq)'],
  ['events_v3_conn', '(conn, seq)'],
  ['events_v3_src_ip', '(src_ip, seq)'],
  ['events_v3_src_port', '(src_port, seq)'],
  ['events_v3_dst_port', '(dst_port, seq)'],
  ['events_v3_up_local_port', '(up_local_port, seq)'],
  ['events_v3_up_port', '(up_port, seq)'],
  ['events_v3_rule', '(rule, seq) WHERE rule IS NOT NULL'],
  ['events_v3_namespace', '(db_namespace, seq) WHERE db_namespace IS NOT NULL'],
  ['events_v3_operation', '(operation, seq) WHERE operation IS NOT NULL'],
  ['events_v3_class', '(class, seq) WHERE class IS NOT NULL'],
  ['events_v3_status', '(status, seq) WHERE status IS NOT NULL'],
  ['events_v3_open_client', "(src_ip, src_port, ts) WHERE action = 'connection-open'"],
  ['events_v3_open_upstream', "(up_local_ip, up_local_port, ts) WHERE action = 'connection-open'"],
  ['events_v3_open_community', "(community_id) WHERE action = 'connection-open'"],
  ['events_v3_open_up_community', "(up_community_id) WHERE action = 'connection-open'"],
  ['events_v3_close_conn', "(conn) WHERE action = 'connection-close'"],
];

/** `CREATE INDEX` statements in schema `s` (e.g. `idx`). */
export function indexDefinitionsSql(s: string): string {
  return INDEX_DEFINITIONS.map(
    ([name, def]) => `CREATE INDEX IF NOT EXISTS ${s}.${name} ON events_v3 ${def};`,
  ).join('\n');
}

/**
 * The index file, attached as schema `s`: its tables, and its secondary indexes unless a
 * bulk build (which creates them last, sorted) is under way.
 */
export function indexSchemaSql(s: string, withIndexes = true): string {
  return `
CREATE TABLE IF NOT EXISTS ${s}.index_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS ${s}.events_v3 (${COLUMN_DEFS});
${withIndexes ? indexDefinitionsSql(s) : ''}
CREATE VIRTUAL TABLE IF NOT EXISTS ${s}.events_fts_v3 USING fts5(
  text, content = 'events_v3', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2',
  columnsize = 0
);
CREATE TRIGGER IF NOT EXISTS ${s}.events_v3_fts_update AFTER UPDATE OF text ON events_v3 BEGIN
  INSERT INTO events_fts_v3 (events_fts_v3, rowid, text)
    SELECT 'delete', old.seq, old.text WHERE old.text IS NOT NULL;
  INSERT INTO events_fts_v3 (rowid, text) SELECT new.seq, new.text WHERE new.text IS NOT NULL;
END;
`;
}

/** The v1 columns, in the order v1 and v2 share them. */
const V1_COLUMNS =
  'seq, ts, id, action, outcome, listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, user, community_id, text, body, leaf';

/** Copy events_v1 into log_v3 (derived columns from each body), then drop events_v1. */
export function migrationFromV1Sql(): string {
  const derived = DERIVED_COLUMN_NAMES.map((name) => {
    const found = BODY_COLUMNS.find(([c]) => c === name);
    if (found === undefined) throw new Error(`no body expression for ${name}`);
    return found[1].replaceAll('@b', 'body');
  });
  return `INSERT INTO log_v3 (${V1_COLUMNS}, ${DERIVED_COLUMN_NAMES.join(', ')})
    SELECT ${V1_COLUMNS}, ${derived.join(', ')} FROM events_v1 ORDER BY seq;
  DROP TABLE events_v1;`;
}

/**
 * v2 kept everything in one indexed table: drop its indexes, its FTS table and trigger (the
 * index file is rebuilt from the log), and rename it; its columns are the log's.
 */
export function migrationFromV2Sql(v2Indexes: readonly string[]): string {
  return `${v2Indexes.map((n) => `DROP INDEX IF EXISTS "${n.replaceAll('"', '""')}";`).join('\n')}
  DROP TRIGGER IF EXISTS events_v2_fts_update;
  DROP TRIGGER IF EXISTS events_v2_fts_insert;
  DROP TABLE IF EXISTS events_fts_v2;
  DELETE FROM meta WHERE key = 'fts_upto';
  ALTER TABLE events_v2 RENAME TO log_v3;`;
}
