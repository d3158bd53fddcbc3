/** Schema of the embedded store. The version is in the table names (undici's habit). */
export const SCHEMA_VERSION = 1;

export const SCHEMA_SQL = `
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events_v1 (
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
  text TEXT,
  body TEXT,
  leaf BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS events_v1_ts ON events_v1 (ts);
CREATE INDEX IF NOT EXISTS events_v1_listener ON events_v1 (listener, seq);
CREATE INDEX IF NOT EXISTS events_v1_action ON events_v1 (action, seq);
CREATE INDEX IF NOT EXISTS events_v1_source ON events_v1 (src_ip, src_port, ts);
CREATE INDEX IF NOT EXISTS events_v1_src_port ON events_v1 (src_port, ts);
CREATE INDEX IF NOT EXISTS events_v1_up_local ON events_v1 (up_local_port, ts);
CREATE INDEX IF NOT EXISTS events_v1_user ON events_v1 (user, seq);
CREATE INDEX IF NOT EXISTS events_v1_conn ON events_v1 (conn, seq);
CREATE INDEX IF NOT EXISTS events_v1_id ON events_v1 (id);
CREATE INDEX IF NOT EXISTS events_v1_community ON events_v1 (community_id);
CREATE TABLE IF NOT EXISTS tree_v1 (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
  PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints_v1 (size INTEGER PRIMARY KEY, ts INTEGER NOT NULL,
  root BLOB NOT NULL, note TEXT NOT NULL);
`;
