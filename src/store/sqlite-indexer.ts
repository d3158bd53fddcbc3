/**
 * Builds the index file from the log (sqlite-schema.ts says why they are two files). One
 * batch copies the next records' searchable columns from the log (most of them read from
 * each record's body: sqlite-log-rows.ts) into `idx.events_v3`, adds their text to the FTS
 * table and moves `indexed_upto`, all in one transaction of the index file (the log is
 * only read, so the gateway's appends never wait for it).
 *
 * A large backlog (a migrated store, a deleted index, a bulk load) is built the fast way:
 * drop the secondary indexes, copy everything, rebuild the FTS table and create the
 * indexes again — sorted builds instead of millions of random B-tree inserts. The copy is
 * committed in chunks (`bulk_to` / `bulk_upto` in index_meta record where it stands), so
 * the index file's WAL stays small, a stop request is answered between chunks, and a
 * restart continues where the build was. `indexed_upto` moves only when the indexes
 * exist again: until then searches read those records from the log.
 */
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import { LOG_ROWS, LOG_ROWS_UNCHECKED, createLogRowsViews } from './sqlite-log-rows.js';
import {
  INDEXED_COLUMNS,
  INDEX_DEFINITIONS,
  indexDefinitionsSql,
  indexSchemaSql,
} from './sqlite-schema.js';

/** Records per ordinary batch: ~50–100 ms of work, so a worker stays responsive. */
export const INDEX_BATCH = 4096;
/** A backlog larger than this (and than what is indexed) is built with sorted index builds. */
const BULK_THRESHOLD = 200_000;
/** Records copied per transaction of a bulk build. */
const BULK_CHUNK = 500_000;

/** When a backlog is built the bulk way, and in what chunks (tests make them small). */
export interface BulkOptions {
  readonly threshold: number;
  readonly chunk: number;
}

const BULK: BulkOptions = { threshold: BULK_THRESHOLD, chunk: BULK_CHUNK };

/** The attached index schema's name on every connection. */
export const IDX = 'idx';

export function indexPathOf(logPath: string): string {
  if (logPath === ':memory:') return ':memory:';
  return logPath.endsWith('.db') ? `${logPath.slice(0, -3)}.index.db` : `${logPath}.index`;
}

/** Attach the index file as `idx` on a connection that only reads it (or a worker's). */
export function attachIndex(db: Database.Database, indexPath: string): void {
  db.prepare(`ATTACH DATABASE ? AS ${IDX}`).run(indexPath);
}

/**
 * Attach the index file as `idx` for the log's writer, creating its schema; an index that
 * is ahead of the log, or was built from another log, is emptied (the log is the evidence;
 * the index follows it).
 */
export function attachIndexForWriter(db: Database.Database, indexPath: string): void {
  attachIndex(db, indexPath);
  if (indexPath !== ':memory:') db.pragma(`${IDX}.journal_mode = WAL`);
  db.pragma(`${IDX}.synchronous = NORMAL`);
  db.exec(indexSchemaSql(IDX, false));
  const logId = logIdentity(db);
  const upto = indexedUpto(db);
  const end = logEnd(db);
  if (readIndexMeta(db, 'log_id') !== logId || upto > end) {
    db.transaction(() => {
      db.exec(
        `DELETE FROM ${IDX}.events_v3; INSERT INTO ${IDX}.events_fts_v3 (events_fts_v3) VALUES ('delete-all');
        DELETE FROM ${IDX}.index_meta WHERE key IN ('bulk_to', 'bulk_upto');`,
      );
      writeIndexMeta(db, 'log_id', logId);
      writeIndexMeta(db, 'indexed_upto', '0');
    })();
  }
  // A bulk build under way creates its indexes last, sorted.
  if (readIndexMeta(db, 'bulk_to') === undefined) db.exec(indexDefinitionsSql(IDX));
}

/** The log's identity (created once): an index built from another log is not reused. */
function logIdentity(db: Database.Database): string {
  const found = db.prepare("SELECT value FROM main.meta WHERE key = 'log_id'").pluck().get() as
    string | undefined;
  if (found !== undefined) return found;
  const id = randomUUID();
  db.prepare("INSERT INTO main.meta (key, value) VALUES ('log_id', ?)").run(id);
  return id;
}

function readIndexMeta(db: Database.Database, key: string): string | undefined {
  return db.prepare(`SELECT value FROM ${IDX}.index_meta WHERE key = ?`).pluck().get(key) as
    string | undefined;
}

function writeIndexMeta(db: Database.Database, key: string, value: string): void {
  db.prepare(`INSERT OR REPLACE INTO ${IDX}.index_meta (key, value) VALUES (?, ?)`).run(key, value);
}

/** Records before this sequence are in the index. */
export function indexedUpto(db: Database.Database): number {
  const v = readIndexMeta(db, 'indexed_upto');
  return v === undefined ? 0 : Number(v);
}

function logEnd(db: Database.Database): number {
  const v = db.prepare('SELECT MAX(seq) FROM main.log_v3').pluck().get() as bigint | number | null;
  return v === null ? 0 : Number(v) + 1;
}

export interface IndexProgress {
  readonly upto: number;
  readonly end: number;
}

/**
 * Index the next batch (at most `max` records), or the next chunk of a bulk build. Returns
 * where the index stands and where the log ended when the batch began; `upto === end`
 * means caught up.
 */
export function indexBatch(
  db: Database.Database,
  max = INDEX_BATCH,
  bulk: BulkOptions = BULK,
): IndexProgress {
  let out: IndexProgress = { upto: 0, end: 0 };
  db.transaction(() => {
    const upto = indexedUpto(db);
    const end = logEnd(db);
    const bulkTo = readIndexMeta(db, 'bulk_to');
    if (bulkTo !== undefined) {
      out = bulkStep(db, upto, Number(bulkTo), end, bulk.chunk);
      return;
    }
    if (end <= upto) {
      out = { upto, end };
      return;
    }
    const backlog = end - upto;
    if (backlog > bulk.threshold && backlog > upto) {
      for (const [name] of INDEX_DEFINITIONS) db.exec(`DROP INDEX IF EXISTS ${IDX}.${name}`);
      writeIndexMeta(db, 'bulk_to', String(end));
      writeIndexMeta(db, 'bulk_upto', String(upto));
      out = { upto, end };
      return;
    }
    const hi = Math.min(end, upto + max);
    copyRows(db, upto, hi);
    writeIndexMeta(db, 'indexed_upto', String(hi));
    out = { upto: hi, end };
  })();
  return out;
}

/**
 * Copy records [lo, hi) of the log into the index table and its FTS table. The columns come
 * from the unchecked view; a batch holding a body that is not JSON (tampering, damage)
 * makes it fail, and is copied again through the checked view, which reads that row's body
 * columns as NULL (sqlite-log-rows.ts).
 */
function copyRows(db: Database.Database, lo: number, hi: number): void {
  createLogRowsViews(db);
  const copy = (view: string) =>
    db
      .prepare(
        `INSERT INTO ${IDX}.events_v3 (${INDEXED_COLUMNS}) SELECT ${INDEXED_COLUMNS} FROM ${view} WHERE seq >= ? AND seq < ?`,
      )
      .run(lo, hi);
  try {
    copy(LOG_ROWS_UNCHECKED);
  } catch (err) {
    if (!(err instanceof Database.SqliteError) || !/malformed JSON/i.test(err.message)) throw err;
    copy(LOG_ROWS);
  }
  db.prepare(
    `INSERT INTO ${IDX}.events_fts_v3 (rowid, text) SELECT seq, text FROM ${IDX}.events_v3 WHERE seq >= ? AND seq < ? AND text IS NOT NULL`,
  ).run(lo, hi);
}

/** One step of a bulk build: the next chunk, or, once copied, the indexes and `indexed_upto`. */
function bulkStep(
  db: Database.Database,
  upto: number,
  bulkTo: number,
  end: number,
  chunk: number,
): IndexProgress {
  const done = Number(readIndexMeta(db, 'bulk_upto') ?? upto);
  if (done < bulkTo) {
    const hi = Math.min(bulkTo, done + chunk);
    copyRows(db, done, hi);
    writeIndexMeta(db, 'bulk_upto', String(hi));
    return { upto, end };
  }
  // One sorted index build per transaction, then the records become searchable here.
  const existing = new Set(
    db.prepare(`SELECT name FROM ${IDX}.sqlite_master WHERE type = 'index'`).pluck().all(),
  );
  const missing = INDEX_DEFINITIONS.find(([name]) => !existing.has(name));
  if (missing !== undefined) {
    db.exec(`CREATE INDEX IF NOT EXISTS ${IDX}.${missing[0]} ON events_v3 ${missing[1]}`);
    return { upto, end };
  }
  writeIndexMeta(db, 'indexed_upto', String(bulkTo));
  db.prepare(`DELETE FROM ${IDX}.index_meta WHERE key IN ('bulk_to', 'bulk_upto')`).run();
  return { upto: bulkTo, end };
}

/** Index everything the log holds now. */
export function indexAll(db: Database.Database): IndexProgress {
  let p = indexBatch(db);
  while (p.upto < p.end) p = indexBatch(db);
  return p;
}
