/**
 * The embedded store: SQLite through better-sqlite3 in WAL mode. Every statement is
 * prepared once. `synchronous=NORMAL` makes a commit durable against a process crash
 * (kill -9); `fsync: true` selects `synchronous=FULL`, durable against power loss.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PortwardenError, errorMessage } from '../errors.js';
import type { EventFilter } from './filter.js';
import { COLUMNS, type RawRow, WRITTEN_COLUMNS, toRow } from './sqlite-row.js';
import { deriveColumns, type DerivedColumns } from './derive.js';
import { SqliteSearch } from './sqlite-search.js';
import {
  DERIVED_COLUMNS,
  SCHEMA_SQL,
  SCHEMA_VERSION,
  migrationFromV1Sql,
} from './sqlite-schema.js';
import type { CheckpointRow, ConnectionAt, EventRow, GroupKey, Page, Store } from './types.js';

/** Records and age after which new text is added to the full-text index (see transaction). */
const FTS_BATCH = 512;
const FTS_MAX_LAG_MS = 1000;

export interface SqliteStoreOptions {
  readonly fsync?: boolean;
  readonly readonly?: boolean;
  /**
   * Open a writer without (re)creating missing indexes: bulk loads drop the secondary
   * indexes, insert, and reopen normally to build them sorted (bench/search-10m.ts).
   */
  readonly skipSchema?: boolean;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private readonly db: Database.Database;
  private readonly stmts: ReturnType<SqliteStore['prepare']>;
  private readonly reader: SqliteSearch;
  /** Records before this sequence are in the full-text index. */
  private ftsUpto = 0;
  private insertedSinceIndex = 0;
  private indexedAtMs = Date.now();

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      this.db = new Database(path, {
        readonly: options.readonly ?? false,
        fileMustExist: options.readonly ?? false,
      });
      this.db.defaultSafeIntegers(true);
      if (!options.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
        // Checkpoint the WAL every ~40 MB instead of every 4 MB: a checkpoint runs inside the
        // commit that crosses the threshold, on the hot path (bench: ~15% per commit).
        this.db.pragma('wal_autocheckpoint = 10000');
        // Index pages of a large store are touched at random by inserts; a 64 MiB page
        // cache (default 2 MiB) keeps them in memory (bench/search-10m.ts generation).
        this.db.pragma('cache_size = -65536');
        this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
        const found = this.schemaVersion();
        if (found !== undefined && Number(found) > SCHEMA_VERSION) {
          throw new PortwardenError('PW_ERR_STORE_SCHEMA', { found, expected: SCHEMA_VERSION });
        }
        this.db.transaction(() => {
          if (!options.skipSchema || !this.hasTable('events_v2')) this.db.exec(SCHEMA_SQL);
          if (this.hasTable('events_v1')) this.db.exec(migrationFromV1Sql());
          if (this.schemaValue('fts_upto') === undefined) {
            // A new or just-migrated store: index whatever text is there, once.
            this.db.exec("INSERT INTO events_fts_v2 (events_fts_v2) VALUES ('rebuild')");
            const end = this.db
              .prepare('SELECT COALESCE(MAX(seq) + 1, 0) FROM events_v2')
              .pluck()
              .get() as bigint;
            this.db
              .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('fts_upto', ?)")
              .run(String(end));
          }
          this.db
            .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)")
            .run(String(SCHEMA_VERSION));
        })();
      } else if (!this.hasTable('events_v2')) {
        throw new PortwardenError('PW_ERR_STORE', {
          detail: `${path}: schema ${this.schemaVersion() ?? '?'} predates this build; start the gateway once to migrate it`,
        });
      }
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      if (err instanceof PortwardenError) throw err;
      throw new PortwardenError(
        'PW_ERR_STORE',
        { detail: `${path}: ${errorMessage(err)}` },
        { cause: err },
      );
    }
    this.stmts = this.prepare();
    this.reader = new SqliteSearch(this.db);
    this.ftsUpto = Number(this.schemaValue('fts_upto') ?? 0);
  }

  private schemaVersion(): string | undefined {
    return this.schemaValue('schema_version');
  }

  private schemaValue(key: string): string | undefined {
    if (!this.hasTable('meta')) return undefined;
    return this.db.prepare('SELECT value FROM meta WHERE key = ?').pluck().get(key) as
      string | undefined;
  }

  private hasTable(name: string): boolean {
    return (
      this.db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) !==
      undefined
    );
  }

  private prepare() {
    const db = this.db;
    const ro = (sql: string) => db.prepare(sql);
    return {
      // Positional parameters: binding 28 values by position is cheaper than by name.
      insert: db.prepare(
        `INSERT INTO events_v2 (${WRITTEN_COLUMNS}, ${DERIVED_COLUMNS.map(([c]) => c).join(', ')}) VALUES (${Array.from({ length: 20 + DERIVED_COLUMNS.length }, () => '?').join(', ')})`,
      ),
      maxSeq: ro('SELECT MAX(seq) FROM events_v2').pluck(),
      indexText: db.prepare(
        'INSERT INTO events_fts_v2 (rowid, text) SELECT seq, text FROM events_v2 WHERE seq >= ? AND seq < ? AND text IS NOT NULL',
      ),
      maxTs: ro('SELECT MAX(ts) FROM events_v2').pluck(),
      bySeq: ro(`SELECT ${COLUMNS} FROM events_v2 WHERE seq = ?`),
      byId: ro(`SELECT ${COLUMNS} FROM events_v2 WHERE id = ?`),
      iterate: ro(`SELECT ${COLUMNS} FROM events_v2 WHERE seq >= ? AND seq < ? ORDER BY seq`),
      getNode: ro('SELECT hash FROM tree_v1 WHERE level = ? AND idx = ?').pluck(),
      putNode: db.prepare('INSERT OR REPLACE INTO tree_v1 (level, idx, hash) VALUES (?, ?, ?)'),
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
   * Run `fn` in one transaction. The full-text index is brought up to date inside the same
   * transaction once 512 records or one second have gone by since it last was: FTS5 writes
   * a new index segment on every commit, which made a group commit of 8 records cost about
   * twice the CPU of the same commit without it; in batches its cost per record nearly
   * vanishes. Searches match the few newer records in memory, so nothing is missed.
   */
  transaction(fn: () => void): void {
    let upto: number | null = null;
    this.db.transaction(() => {
      fn();
      upto = this.indexTextIfDue(false);
    })();
    if (upto !== null) this.textIndexed(upto);
  }

  /** Add every record's text to the full-text index now (tests, bulk loads). */
  indexTextNow(): void {
    let upto: number | null = null;
    this.db.transaction(() => {
      upto = this.indexTextIfDue(true);
    })();
    if (upto !== null) this.textIndexed(upto);
  }

  private indexTextIfDue(force: boolean): number | null {
    if (this.insertedSinceIndex === 0 && !force) return null;
    if (
      !force &&
      this.insertedSinceIndex < FTS_BATCH &&
      Date.now() - this.indexedAtMs < FTS_MAX_LAG_MS
    )
      return null;
    const max = this.stmts.maxSeq.get() as bigint | null;
    const end = max === null ? 0 : Number(max) + 1;
    if (end > this.ftsUpto) {
      this.stmts.indexText.run(this.ftsUpto, end);
      this.stmts.setMeta.run('fts_upto', String(end));
    }
    return end;
  }

  private textIndexed(upto: number): void {
    this.ftsUpto = Math.max(this.ftsUpto, upto);
    this.insertedSinceIndex = 0;
    this.indexedAtMs = Date.now();
  }

  insertEvent(row: EventRow): void {
    this.insertedSinceIndex++;
    const d =
      row.node !== undefined ? (row as EventRow & DerivedColumns) : deriveFromBody(row.body);
    this.stmts.insert.run(
      row.sequence,
      row.timestampNs,
      row.id,
      row.action,
      row.outcome,
      row.listener,
      row.connectionId,
      row.sourceIp,
      row.sourcePort,
      row.destinationIp,
      row.destinationPort,
      row.upstreamLocalIp,
      row.upstreamLocalPort,
      row.upstreamIp,
      row.upstreamPort,
      row.user,
      row.communityId,
      row.text,
      row.body,
      row.leafHash,
      d.upstreamCommunityId ?? null,
      d.rule ?? null,
      d.policyVersion ?? null,
      d.dbNamespace ?? null,
      d.operation ?? null,
      d.statementClass ?? null,
      d.status ?? null,
      d.node ?? null,
    );
  }

  nextSequence(): number {
    const max = this.stmts.maxSeq.get() as bigint | null;
    return max === null ? 0 : Number(max) + 1;
  }

  lastTimestampNs(): bigint {
    const max = this.stmts.maxTs.get() as bigint | null;
    return max ?? 0n;
  }

  getBySequence(sequence: number): EventRow | undefined {
    const r = this.stmts.bySeq.get(sequence) as RawRow | undefined;
    return r ? toRow(r) : undefined;
  }

  getById(id: string): EventRow | undefined {
    const r = this.stmts.byId.get(id) as RawRow | undefined;
    return r ? toRow(r) : undefined;
  }

  *iterate(from = 0, to = Number.MAX_SAFE_INTEGER): IterableIterator<EventRow> {
    for (const r of this.stmts.iterate.iterate(from, to) as IterableIterator<RawRow>)
      yield toRow(r);
  }

  search(filter: EventFilter): Page {
    return this.reader.search(filter);
  }

  count(filter: EventFilter): number {
    return this.reader.count(filter);
  }

  groupBy(filter: EventFilter, key: GroupKey): { key: string; count: number }[] {
    return this.reader.groupBy(filter, key);
  }

  connectionAt(ip: string, port: number, atNs: bigint): ConnectionAt | null {
    return this.reader.connectionAt(ip, port, atNs);
  }

  connectionEnds(connectionId: string): { open: EventRow | null; close: EventRow | null } {
    return this.reader.ends(connectionId);
  }

  firstSequenceOfSource(sourceIp: string): number | null {
    return this.reader.firstSequenceOfSource(sourceIp);
  }

  /** EXPLAIN QUERY PLAN of a search and of the `who` lookups (tests, diagnostics). */
  explain(filter: EventFilter | 'who'): string[] {
    return filter === 'who' ? this.reader.explainWho() : this.reader.explainSearch(filter);
  }

  /** Bytes the database file and its WAL take. */
  sizeBytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as bigint;
    const size = this.db.pragma('page_size', { simple: true }) as bigint;
    return Number(pages) * Number(size);
  }

  getNode(level: number, index: number): Buffer | undefined {
    return this.stmts.getNode.get(level, index) as Buffer | undefined;
  }

  putNode(level: number, index: number, hash: Buffer): void {
    this.stmts.putNode.run(level, index, hash);
  }

  insertCheckpoint(row: CheckpointRow): void {
    this.stmts.insertCheckpoint.run(row.size, row.timestampNs, row.root, row.note);
  }

  checkpoints(): CheckpointRow[] {
    return (
      this.stmts.checkpoints.all() as { size: bigint; ts: bigint; root: Buffer; note: string }[]
    ).map(toCheckpoint);
  }

  latestCheckpoint(): CheckpointRow | undefined {
    const r = this.stmts.latestCheckpoint.get() as
      { size: bigint; ts: bigint; root: Buffer; note: string } | undefined;
    return r ? toCheckpoint(r) : undefined;
  }

  pruneBodies(beforeNs: bigint): { from: number; to: number; count: number } | null {
    let out: { from: number; to: number; count: number } | null = null;
    let upto: number | null = null;
    this.db.transaction(() => {
      // Pruned text leaves the FTS index through a trigger, which needs it indexed first.
      upto = this.indexTextIfDue(true);
      const range = this.db
        .prepare(
          'SELECT MIN(seq) AS a, MAX(seq) AS b, COUNT(*) AS n FROM events_v2 WHERE ts < ? AND body IS NOT NULL',
        )
        .get(beforeNs) as { a: bigint | null; b: bigint | null; n: bigint };
      if (range.a === null || range.b === null) return;
      this.db
        .prepare('UPDATE events_v2 SET body = NULL, text = NULL WHERE ts < ? AND body IS NOT NULL')
        .run(beforeNs);
      out = { from: Number(range.a), to: Number(range.b), count: Number(range.n) };
    })();
    if (upto !== null) this.textIndexed(upto);
    return out;
  }

  getMeta(key: string): string | undefined {
    return this.stmts.getMeta.get(key) as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toCheckpoint(r: { size: bigint; ts: bigint; root: Buffer; note: string }): CheckpointRow {
  return { size: Number(r.size), timestampNs: BigInt(r.ts), root: r.root, note: r.note };
}

/** Writers that do not pass derived columns (ingest, tests) get them from the body. */
function deriveFromBody(body: string | null): Partial<DerivedColumns> {
  if (body === null) return {};
  try {
    return deriveColumns(JSON.parse(body) as Record<string, unknown>);
  } catch {
    return {};
  }
}
