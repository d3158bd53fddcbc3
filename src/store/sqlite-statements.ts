/**
 * The embedded log's prepared statements (SqliteStore's), on the gateway's own connection:
 * appends, reads by sequence and id, verify's batches, Merkle nodes, checkpoints and meta.
 */
import type Database from 'better-sqlite3';
import { COLUMNS, WRITTEN_COLUMNS } from './sqlite-row.js';
import { LOG_ROWS } from './sqlite-log-rows.js';
import { DERIVED_COLUMN_NAMES, INSERT_NARROW_SQL, PUT_NODE_SQL, treeKey } from './sqlite-schema.js';

export type LogStatements = ReturnType<typeof prepareLogStatements>;

export function hasTable(db: Database.Database, name: string): boolean {
  return (
    db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !==
    undefined
  );
}

export function prepareLogStatements(db: Database.Database) {
  const ro = (sql: string) => db.prepare(sql);
  return {
    // A record as the Recorder writes it: narrow (sqlite-log-rows.ts). safeIntegers(false):
    // run() reports lastInsertRowid as a number, not a new BigInt.
    insert: db.prepare(INSERT_NARROW_SQL).safeIntegers(false),
    // A record without a body (a pruned one, copied) keeps its columns in the row.
    insertWide: db
      .prepare(
        `INSERT INTO log_v3 (${WRITTEN_COLUMNS}, ${DERIVED_COLUMN_NAMES.join(', ')}) VALUES (${Array.from({ length: 20 + DERIVED_COLUMN_NAMES.length }, () => '?').join(', ')})`,
      )
      .safeIntegers(false),
    maxSeq: ro('SELECT MAX(seq) FROM log_v3').pluck(),
    maxTs: ro('SELECT ts FROM log_v3 ORDER BY seq DESC LIMIT 1').pluck(),
    bySeq: ro(`SELECT ${COLUMNS} FROM ${LOG_ROWS} WHERE seq = ?`),
    iterate: ro(`SELECT ${COLUMNS} FROM ${LOG_ROWS} WHERE seq >= ? AND seq < ? ORDER BY seq`),
    // A body or leaf stored with another type (tampering) is read as the bytes it holds.
    leaves: ro(
      'SELECT seq, CAST(body AS TEXT), CAST(leaf AS BLOB) FROM log_v3 WHERE seq >= ? ORDER BY seq',
    )
      .raw(true)
      .safeIntegers(false),
    // group_concat appends each value's bytes as they are (a BLOB's too) in scan order,
    // which for a range of the rowid is sequence order; verify-range.ts checks the rest.
    leafBatch: ro(
      `SELECT count(*), coalesce(min(seq), -1), coalesce(max(seq), -1),
        coalesce(sum(typeof(leaf) <> 'blob' OR length(leaf) <> 32), 0),
        coalesce(group_concat(coalesce(octet_length(body), -1), ','), ''),
        CAST(group_concat(char(0) || body, '') AS BLOB),
        CAST(group_concat(leaf, '') AS BLOB)
      FROM log_v3 WHERE seq >= ? AND seq < ?`,
    )
      .raw(true)
      .safeIntegers(false),
    getNode: nodeReader(db),
    leafAt: ro('SELECT leaf FROM log_v3 WHERE seq = ?').pluck(),
    bodyAt: ro('SELECT body FROM log_v3 WHERE seq = ?').pluck(),
    putNode: hasTable(db, 'tree_v2') ? db.prepare(PUT_NODE_SQL) : null,
    insertCheckpoint: db.prepare(
      'INSERT OR REPLACE INTO checkpoints_v1 (size, ts, root, note) VALUES (?, ?, ?, ?)',
    ),
    checkpoints: ro('SELECT size, ts, root, note FROM checkpoints_v1 ORDER BY size'),
    latestCheckpoint: ro(
      'SELECT size, ts, root, note FROM checkpoints_v1 ORDER BY size DESC LIMIT 1',
    ),
    getMeta: ro('SELECT value FROM meta WHERE key = ?').pluck(),
    setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
  };
}

/**
 * Reads a kept Merkle node: from `tree_v2` by its key, or — in a v3 log opened read-only
 * before a v4 gateway migrated it — from `tree_v1` by (level, idx).
 */
function nodeReader(db: Database.Database): (level: number, index: number) => Buffer | undefined {
  if (hasTable(db, 'tree_v2')) {
    const byKey = db.prepare('SELECT hash FROM tree_v2 WHERE k = ?').pluck();
    return (level, index) => {
      const key = treeKey(level, index);
      return Number.isSafeInteger(key) ? (byKey.get(key) as Buffer | undefined) : undefined;
    };
  }
  const byLevel = db.prepare('SELECT hash FROM tree_v1 WHERE level = ? AND idx = ?').pluck();
  return (level, index) => byLevel.get(level, index) as Buffer | undefined;
}
