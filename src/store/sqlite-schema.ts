/**
 * Schema of the embedded store. The version is in the table names (undici's habit).
 *
 * v2 adds the columns the filter model needs (rule, policy version, db namespace,
 * operation, class, status, the upstream leg's community id, observer node) and an FTS5
 * index over the statement / command / path text. Records before `meta.fts_upto` are in
 * the FTS index; the store adds newer ones in batches (sqlite-store.ts says why) and a
 * text search matches the few newer ones in memory with the same rules. The new columns are filled by SQLite
 * itself from the canonical body (`json_extract`) inside the INSERT, so every writer (the
 * Recorder, a migration, a benchmark) fills them the same way and the Recorder needs no
 * change. A v1 store is copied into v2 once, in one transaction, when a writer opens it.
 *
 * Indexes end in `seq` so that a filter on one column walks its index in sequence order and
 * a keyset page (`seq < ?` newest first, `seq > ?` oldest first) is a range scan with no
 * sort. Time windows are turned into sequence ranges through the `ts` index (sequence and
 * time grow together on a node: the Recorder's clock is strictly increasing and starts after
 * the store's last timestamp), so `--since` never forces a sort either. The `who` and
 * connection-story lookups use small partial indexes over connection-open / close records;
 * failures (a few percent of records) get a partial index too, so `--outcome failure`
 * is indexed without paying an index entry for every success.
 *
 * Each index costs every insert (the Recorder's commit is on the forwarding path in strict
 * mode), so columns with a handful of values that are dense in the data (policy version,
 * node, success outcomes) are not indexed, and the FTS table keeps no per-row sizes
 * (`columnsize = 0`: no ranking is done, and it saves one B-tree write per record).
 */
export const SCHEMA_VERSION = 2;

/** Columns derived from the canonical body: [column, SQL expression over @body]. */
export const DERIVED_COLUMNS = [
  ['up_community_id', "json_extract(@body, '$.upstream.community_id')"],
  ['rule', "json_extract(@body, '$.rule.id')"],
  ['policy_version', "json_extract(@body, '$.policy.version')"],
  ['db_namespace', "json_extract(@body, '$.db.namespace')"],
  [
    'operation',
    "UPPER(COALESCE(json_extract(@body, '$.db.operation'), json_extract(@body, '$.redis.command'), json_extract(@body, '$.http.request.method')))",
  ],
  ['class', "json_extract(@body, '$.db.query.class')"],
  [
    'status',
    "CAST(COALESCE(json_extract(@body, '$.db.response.status_code'), json_extract(@body, '$.http.response.status_code'), json_extract(@body, '$.redis.reply.error.code')) AS TEXT)",
  ],
  ['node', "json_extract(@body, '$.observer.id')"],
] as const;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events_v2 (
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
  text TEXT,
  body TEXT,
  leaf BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_v2_ts ON events_v2 (ts);
CREATE INDEX IF NOT EXISTS events_v2_id ON events_v2 (id);
CREATE INDEX IF NOT EXISTS events_v2_listener ON events_v2 (listener, seq);
CREATE INDEX IF NOT EXISTS events_v2_action ON events_v2 (action, seq);
CREATE INDEX IF NOT EXISTS events_v2_failure ON events_v2 (seq) WHERE outcome = 'failure';
CREATE INDEX IF NOT EXISTS events_v2_user ON events_v2 (user, seq);
CREATE INDEX IF NOT EXISTS events_v2_conn ON events_v2 (conn, seq);
CREATE INDEX IF NOT EXISTS events_v2_src_ip ON events_v2 (src_ip, seq);
CREATE INDEX IF NOT EXISTS events_v2_src_port ON events_v2 (src_port, seq);
CREATE INDEX IF NOT EXISTS events_v2_dst_port ON events_v2 (dst_port, seq);
CREATE INDEX IF NOT EXISTS events_v2_up_local_port ON events_v2 (up_local_port, seq);
CREATE INDEX IF NOT EXISTS events_v2_up_port ON events_v2 (up_port, seq);
CREATE INDEX IF NOT EXISTS events_v2_rule ON events_v2 (rule, seq) WHERE rule IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_v2_namespace ON events_v2 (db_namespace, seq) WHERE db_namespace IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_v2_operation ON events_v2 (operation, seq) WHERE operation IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_v2_class ON events_v2 (class, seq) WHERE class IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_v2_status ON events_v2 (status, seq) WHERE status IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_v2_open_client ON events_v2 (src_ip, src_port, ts) WHERE action = 'connection-open';
CREATE INDEX IF NOT EXISTS events_v2_open_upstream ON events_v2 (up_local_ip, up_local_port, ts) WHERE action = 'connection-open';
CREATE INDEX IF NOT EXISTS events_v2_open_community ON events_v2 (community_id) WHERE action = 'connection-open';
CREATE INDEX IF NOT EXISTS events_v2_open_up_community ON events_v2 (up_community_id) WHERE action = 'connection-open';
CREATE INDEX IF NOT EXISTS events_v2_close_conn ON events_v2 (conn) WHERE action = 'connection-close';
CREATE VIRTUAL TABLE IF NOT EXISTS events_fts_v2 USING fts5(
  text, content = 'events_v2', content_rowid = 'seq', tokenize = 'unicode61 remove_diacritics 2',
  columnsize = 0
);
DROP TRIGGER IF EXISTS events_v2_fts_insert;
DROP TRIGGER IF EXISTS events_v2_fts_update;
CREATE TRIGGER events_v2_fts_update AFTER UPDATE OF text ON events_v2
  WHEN old.seq < (SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_upto') BEGIN
  INSERT INTO events_fts_v2 (events_fts_v2, rowid, text)
    SELECT 'delete', old.seq, old.text WHERE old.text IS NOT NULL;
  INSERT INTO events_fts_v2 (rowid, text) SELECT new.seq, new.text WHERE new.text IS NOT NULL;
END;
CREATE TABLE IF NOT EXISTS tree_v1 (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints_v1 (size INTEGER PRIMARY KEY, ts INTEGER NOT NULL,
  root BLOB NOT NULL, note TEXT NOT NULL);
`;

/** The v1 columns, in the order both tables share them. */
const V1_COLUMNS =
  'seq, ts, id, action, outcome, listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, user, community_id, text, body, leaf';

/** Copy events_v1 into events_v2 (derived columns from each body), then drop events_v1. */
export function migrationFromV1Sql(): string {
  const derivedNames = DERIVED_COLUMNS.map(([name]) => name).join(', ');
  const derivedExprs = DERIVED_COLUMNS.map(([, expr]) => expr.replaceAll('@body', 'body')).join(
    ', ',
  );
  return `INSERT INTO events_v2 (${V1_COLUMNS}, ${derivedNames})
    SELECT ${V1_COLUMNS}, ${derivedExprs} FROM events_v1 ORDER BY seq;
  DROP TABLE events_v1;`;
}
