/**
 * The embedded store: SQLite through better-sqlite3 in WAL mode, in two files — the log
 * (the evidence, appended by the Recorder) and its index (built from the log by a worker
 * thread); sqlite-schema.ts explains the split. Every statement is prepared once.
 * `synchronous=NORMAL` makes a commit durable against a process crash (kill -9);
 * `fsync: true` selects `synchronous=FULL`, durable against power loss.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { Worker } from 'node:worker_threads';
import type { TreeEdge } from '../audit/tree.js';
import { PortwardenError, errorMessage } from '../errors.js';
import { workerScript } from '../worker-script.js';
import type { EventFilter } from './filter.js';
import { toEventRow } from './event-row.js';
import type { RawRow } from './sqlite-row.js';
import type { DerivedColumns } from './derive.js';
import { createLogRowsViews, pruneSetSql } from './sqlite-log-rows.js';
import { BatchCollector, LogWriter, WriterGoneError } from './sqlite-writer.js';
import { bodyText, type BodyBytes } from './body-arena.js';
import { SqliteSearch } from './sqlite-search.js';
import { type LogStatements, hasTable, prepareLogStatements } from './sqlite-statements.js';
import {
  LOG_SCHEMA_SQL,
  LOWEST_KEPT_LEVEL,
  SCHEMA_VERSION,
  migrationFromTreeV1Sql,
  keptNodeKey,
  migrationFromV1Sql,
  migrationFromV2Sql,
} from './sqlite-schema.js';
import {
  IDX,
  attachIndex,
  attachIndexForWriter,
  indexAll,
  indexBatch,
  indexPathOf,
} from './sqlite-indexer.js';
import type {
  BackgroundLanding,
  CheckpointRow,
  ConnectionAt,
  EventRow,
  GroupKey,
  LeafBatch,
  LeafRow,
  Page,
  Store,
} from './types.js';

/** Page size of a new log file (bytes). */
const LOG_PAGE_SIZE = 65536;
const EMPTY_BYTES = Buffer.alloc(0);
/** WAL size past which the writer thread and this connection checkpoint the log when no index worker runs (bytes). */
const WAL_CHECKPOINT_BYTES = 40 * 1024 * 1024;
/**
 * Size the WAL file is cut back to when it starts over (bytes): above the threshold, so
 * that a busy gateway reuses its WAL file in place (cutting it back to 64 MiB at every
 * restart cost ~5% of appends: growing a file again is slower than overwriting it), while a
 * WAL that a long read let grow far past it is cut back.
 */
const WAL_KEEP_BYTES = 512 * 1024 * 1024;
/** Inline indexing: records and age after which the index is brought up to date. */
const INLINE_BATCH = 512;
const INLINE_MAX_LAG_MS = 1000;
/** How often the worker looks for new records when it has caught up. */
const WORKER_POLL_MS = 100;
/**
 * Fewest records a background commit takes without `fsync`: below it the hop to the writer
 * thread and back cost more gateway CPU than the commit (strict pgbench and redis rates fell
 * 10–15% with every commit sent; docs/benchmarks.md, session 7).
 */
const BACKGROUND_MIN_RECORDS = 128;
/** Longest close() waits for the index worker to finish its batch and close. */
const STOP_WAIT_MS = 5000;

export interface SqliteStoreOptions {
  readonly fsync?: boolean;
  readonly readonly?: boolean;
  /**
   * Who builds the index from the log: a worker thread (the default for a file), this
   * thread after commits (`inline`, the default for `:memory:`), or nobody (`none`: bulk
   * loads, which call `indexNow()` once at the end).
   */
  readonly indexer?: 'worker' | 'inline' | 'none';
  /**
   * Who commits the Recorder's scheduled batches: a writer thread (`thread`: the gateway,
   * so the event loop never waits for SQLite; sqlite-writer.ts) or this thread (`inline`,
   * the default). Explicit transactions always run on this thread.
   */
  readonly writer?: 'thread' | 'inline';
}

export interface IndexStatus {
  /** Records before this sequence are in the index. */
  readonly indexedUpto: number;
  /** The log's next sequence. */
  readonly logEnd: number;
  readonly indexer: 'worker' | 'inline' | 'none' | 'read-only';
  /** The worker's last error, if any. */
  readonly lastError: string | null;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly indexPath: string;
  private readonly db: Database.Database;
  private readonly stmts: LogStatements;
  private readonly reader: SqliteSearch;
  private readonly indexer: IndexStatus['indexer'];
  private worker: Worker | null = null;
  private workerStopped: Int32Array | null = null;
  private workerStarts = 0;
  private lastIndexError: string | null = null;
  private closed = false;
  private insertedSinceIndex = 0;
  private indexedAtMs = Date.now();
  private logWriter: LogWriter | null = null;
  /** The batch being collected by `transactionInBackground`, if any. */
  private collecting: BatchCollector | null = null;
  private walCheckpointPages = 0;
  private readonly fsync: boolean;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    this.indexPath = indexPathOf(path);
    this.fsync = options.fsync ?? false;
    let hasIndex = true;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      this.db = new Database(path, {
        readonly: options.readonly ?? false,
        fileMustExist: options.readonly ?? false,
      });
      this.db.defaultSafeIntegers(true);
      if (!options.readonly) {
        // A new log gets 64 KiB pages: the log is written at its end and read in sequence
        // runs, and a checkpoint copies a sixteenth of the pages it copied at 4 KiB (bench:
        // ~1 µs a record less). The page size of an existing file stays what it is.
        if (this.db.pragma('page_count', { simple: true }) === 0n)
          this.db.pragma(`page_size = ${LOG_PAGE_SIZE}`);
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
        // Who copies the WAL into the log file: see assignWalCheckpoints.
        const pageSize = Number(this.db.pragma('page_size', { simple: true }));
        this.walCheckpointPages = Math.ceil(WAL_CHECKPOINT_BYTES / pageSize);
        this.assignWalCheckpoints();
        this.db.pragma(`journal_size_limit = ${WAL_KEEP_BYTES}`);
        this.db.pragma('cache_size = -16384');
        this.db.exec('CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
        const found = this.schemaVersion();
        if (found !== undefined && Number(found) > SCHEMA_VERSION) {
          throw new PortwardenError('PW_ERR_STORE_SCHEMA', { found, expected: SCHEMA_VERSION });
        }
        this.db.transaction(() => this.migrate())();
        attachIndexForWriter(this.db, this.indexPath);
      } else {
        if (!this.hasTable('log_v3')) {
          throw new PortwardenError('PW_ERR_STORE', {
            detail: `${path}: schema ${this.schemaVersion() ?? '?'} predates this build; start the gateway once to migrate it`,
          });
        }
        // The index is derived: without it every query reads the log (slower, same answers).
        hasIndex = existsSync(this.indexPath);
        if (hasIndex) attachIndex(this.db, this.indexPath);
      }
      createLogRowsViews(this.db);
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      if (err instanceof PortwardenError) throw err;
      throw new PortwardenError(
        'PW_ERR_STORE',
        { detail: `${path}: ${errorMessage(err)}` },
        { cause: err },
      );
    }
    this.stmts = prepareLogStatements(this.db);
    this.reader = new SqliteSearch(this.db, hasIndex);
    this.indexer = options.readonly
      ? 'read-only'
      : (options.indexer ?? (path === ':memory:' ? 'inline' : 'worker'));
    if (this.indexer === 'worker') this.startWorker();
    if (options.writer === 'thread' && !options.readonly && path !== ':memory:')
      this.logWriter = new LogWriter({
        logPath: path,
        fsync: this.fsync,
        walCheckpointPages: this.checkpointPages(),
        walKeepBytes: WAL_KEEP_BYTES,
      });
  }

  /** Bring an older store to this schema, in the open transaction. */
  private migrate(): void {
    if (this.hasTable('events_v2') && !this.hasTable('log_v3')) {
      const v2Indexes = this.db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events_v2' AND sql IS NOT NULL",
        )
        .pluck()
        .all() as string[];
      this.db.exec(migrationFromV2Sql(v2Indexes));
    }
    this.db.exec(LOG_SCHEMA_SQL);
    if (this.hasTable('events_v1')) this.db.exec(migrationFromV1Sql());
    if (this.hasTable('tree_v1')) this.db.exec(migrationFromTreeV1Sql());
    this.db
      .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)")
      .run(String(SCHEMA_VERSION));
  }

  /**
   * Who copies the WAL into the log file. While the index worker runs, it alone does,
   * between its batches, when it holds no snapshot (a RESTART checkpoint that lets the WAL
   * start over; sqlite-indexer-worker.ts): neither the writer thread, whose commits would
   * stall on a copy, nor this connection. This connection's automatic checkpoint runs
   * inside whatever commit it makes past the threshold — a strict-mode turn, a checkpoint's
   * flush — on the event loop, and during a burst that outran the index (WAL at 2–3 GB) it
   * copied for seconds at a time (session 9: up to 5.9 s of kernel time a million records
   * on the gateway's thread). Without the worker, the writer thread (if any) and this
   * connection checkpoint past `WAL_CHECKPOINT_BYTES`.
   */
  private assignWalCheckpoints(): void {
    const pages = this.checkpointPages();
    this.db.pragma(`wal_autocheckpoint = ${pages}`);
    this.logWriter?.setWalCheckpointPages(pages);
  }

  /** The WAL size (pages) at which this connection and the writer thread checkpoint (0: never). */
  private checkpointPages(): number {
    return this.worker !== null ? 0 : this.walCheckpointPages;
  }

  /** The index builder's thread (its script sits next to this module: src/worker-script.ts). */
  private startWorker(): void {
    this.workerStopped = new Int32Array(new SharedArrayBuffer(4));
    const workerData = {
      logPath: this.path,
      indexPath: this.indexPath,
      pollMs: WORKER_POLL_MS,
      stopped: this.workerStopped,
    };
    const worker = new Worker(workerScript(import.meta.url, 'sqlite-indexer-worker'), {
      eval: true,
      workerData,
    });
    worker.unref();
    this.workerStarts++;
    worker.on('message', (m: { type: string; message?: string }) => {
      if (m.type === 'error') this.lastIndexError = m.message ?? 'unknown error';
    });
    worker.on('error', (err) => {
      this.lastIndexError = errorMessage(err);
    });
    worker.on('exit', () => {
      if (this.workerStopped) Atomics.store(this.workerStopped, 0, 1);
      if (this.worker !== worker) return;
      this.worker = null;
      // Without the worker's checkpoints, the writer and this connection copy the WAL.
      if (this.db.open) this.assignWalCheckpoints();
      // An unexpected exit: start again after a pause (searches read the log meanwhile).
      if (!this.closed && this.workerStarts < 100)
        setTimeout(() => {
          if (!this.closed && this.worker === null) this.startWorker();
        }, 1000).unref();
    });
    this.worker = worker;
    this.assignWalCheckpoints();
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
    return hasTable(this.db, name);
  }

  /**
   * Run `fn` in one transaction of the log. With the inline indexer the index is brought
   * up to date after the commit once 512 records or one second have gone by.
   */
  transaction(fn: () => void): void {
    this.settleBackground();
    this.db.transaction(fn)();
    this.afterCommit(0);
  }

  /** After a commit of `records` more: the inline indexer's turn, once enough went by. */
  private afterCommit(records: number): void {
    this.insertedSinceIndex += records;
    if (this.indexer !== 'inline' || this.insertedSinceIndex === 0) return;
    if (this.insertedSinceIndex < INLINE_BATCH && Date.now() - this.indexedAtMs < INLINE_MAX_LAG_MS)
      return;
    this.indexNow();
  }

  /**
   * Like `transaction`, but the records `fn` inserts (`insertEvent` of records with a body;
   * their leaf hashes are made there, and with `edge` the tree nodes they complete) are
   * committed on the writer thread; `done` runs on this thread once they are committed, or
   * refused and rolled back. Returns false, without running `fn`, when there is no writer
   * thread or a batch is still in flight: the caller then waits for the landing or uses
   * `transaction`. See Store.transactionInBackground.
   */
  transactionInBackground(
    records: number,
    fn: () => void,
    done: (err: Error | null, landing: BackgroundLanding | null) => void,
    edge?: TreeEdge,
  ): boolean {
    const writer = this.logWriter;
    if (writer === null || writer.busy || writer.failed || this.collecting !== null) return false;
    // A few records (a strict-mode turn) commit faster here than through the hop to the
    // writer and back, unless each commit syncs the disk: that wait belongs off the loop.
    if (records < BACKGROUND_MIN_RECORDS && !this.fsync) return false;
    const batch = new BatchCollector(records);
    this.collecting = batch;
    try {
      fn();
    } finally {
      this.collecting = null;
    }
    const collected = batch.records;
    const last = batch.last;
    writer.commit(batch, edge ?? null, (err, landing) => {
      if (err === null) {
        this.afterCommit(collected);
        done(null, landing);
        return;
      }
      // A writer gone after committing but before answering: its last record is there.
      const landed = err instanceof WriterGoneError && last !== undefined && this.holds(last);
      if (landed) this.afterCommit(collected);
      done(landed ? null : err, null);
    });
    return true;
  }

  /** Whether the log holds this record (its sequence with this body). */
  private holds(record: { readonly sequence: number; readonly body: BodyBytes }): boolean {
    return this.stmts.bodyAt.get(record.sequence) === bodyText(record.body);
  }

  /** True while a writer thread takes batches (it may have failed since: see the method). */
  get commitsInBackground(): boolean {
    return this.logWriter !== null && !this.logWriter.failed;
  }

  /** Blocks until the background batch in flight, if any, has landed (its `done` has run). */
  settleBackground(): void {
    this.logWriter?.settle();
  }

  /** Resolves once the writer thread, if any, has opened its connection. */
  writerReady(): Promise<void> {
    return this.logWriter?.ready ?? Promise.resolve();
  }

  /** Whether a background batch is in flight. */
  get backgroundBusy(): boolean {
    return this.logWriter?.busy ?? false;
  }

  /** Index every committed record now, on this thread (tests, bulk loads, inline mode). */
  indexNow(): void {
    if (this.indexer === 'read-only') return;
    indexAll(this.db);
    this.insertedSinceIndex = 0;
    this.indexedAtMs = Date.now();
  }

  /** Index at most one batch now (tests of the two-part reads). */
  indexSome(max: number): void {
    if (this.indexer !== 'read-only') indexBatch(this.db, max);
  }

  /** Where the index stands against the log (metrics, `portwarden doctor`-style checks). */
  indexStatus(): IndexStatus {
    return {
      indexedUpto: this.reader.upto(),
      logEnd: this.nextSequence(),
      indexer: this.indexer,
      lastError: this.lastIndexError,
    };
  }

  /**
   * Append a record. Its searchable columns other than id and action are read from its
   * body (sqlite-log-rows.ts), so a row's column members are not written, except for a
   * row without a body.
   */
  insertEvent(row: EventRow, bytes?: BodyBytes | null): void {
    if (this.collecting !== null) {
      if (bytes != null) {
        this.collecting.addRecord(row, bytes);
        return;
      }
      const body = row.body;
      if (body === null) throw new Error('a background commit takes records with a body only');
      this.collecting.addRecord(row, this.collecting.placeText(body));
      return;
    }
    this.insertedSinceIndex++;
    if (row.body !== null) {
      this.stmts.insert.run(
        row.sequence,
        row.timestampNs,
        row.id,
        row.action,
        row.body,
        row.leafHash,
      );
      return;
    }
    const d: Partial<DerivedColumns> =
      row.node !== undefined ? (row as EventRow & DerivedColumns) : {};
    this.stmts.insertWide.run(
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
    return r ? toEventRow(r) : undefined;
  }

  getById(id: string): EventRow | undefined {
    return this.reader.byId(id) ?? undefined;
  }

  *iterate(from = 0, to = Number.MAX_SAFE_INTEGER): IterableIterator<EventRow> {
    for (const r of this.stmts.iterate.iterate(from, to) as IterableIterator<RawRow>)
      yield toEventRow(r);
  }

  *iterateLeaves(from: number): IterableIterator<LeafRow> {
    for (const [seq, body, leaf] of this.stmts.leaves.iterate(from) as IterableIterator<
      [number, string | null, Buffer]
    >)
      yield { sequence: seq, body, leafHash: leaf };
  }

  leafBatch(from: number, to: number): LeafBatch {
    const [count, first, last, malformed, lengths, leafInputs, leaves] = this.stmts.leafBatch.get(
      from,
      to,
    ) as [number, number, number, number, string, Buffer | null, Buffer | null];
    return {
      count,
      first,
      last,
      malformed,
      lengths,
      leafInputs: leafInputs ?? EMPTY_BYTES,
      leaves: leaves ?? EMPTY_BYTES,
    };
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

  /** Bytes the log and the index take (their pages; WAL files not counted). */
  sizeBytes(): number {
    let total = 0;
    for (const schema of this.indexer === 'read-only' && !existsSync(this.indexPath)
      ? ['main']
      : ['main', IDX]) {
      const pages = this.db.pragma(`${schema}.page_count`, { simple: true }) as bigint;
      const size = this.db.pragma(`${schema}.page_size`, { simple: true }) as bigint;
      total += Number(pages) * Number(size);
    }
    return total;
  }

  /**
   * Level 0 of the Merkle tree is the leaf column of the log (leaf index = sequence); levels
   * 1 to 3 are not kept (undefined: the tree folds them from the leaves, audit/tree.ts), so
   * an append writes a node for one record in sixteen. A v3 log read before its migration
   * still holds those rows in `tree_v1`, unread: a folded node equals the stored one.
   */
  getNode(level: number, index: number): Buffer | undefined {
    if (level === 0) return this.stmts.leafAt.get(index) as Buffer | undefined;
    if (level < LOWEST_KEPT_LEVEL) return undefined;
    return this.stmts.getNode(level, index);
  }

  putNode(level: number, index: number, hash: Buffer): void {
    const key = keptNodeKey(level, index);
    if (key === null) return;
    if (this.stmts.putNode === null) {
      throw new PortwardenError('PW_ERR_STORE', {
        detail: `cannot store Merkle node (level ${level}, index ${index})`,
      });
    }
    if (this.collecting !== null) throw new Error('a background commit makes its own tree nodes');
    this.stmts.putNode.run(key, hash);
  }

  insertCheckpoint(row: CheckpointRow): void {
    this.settleBackground();
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
    this.settleBackground();
    this.db.transaction(() => {
      const range = this.db
        .prepare(
          'SELECT MIN(seq) AS a, MAX(seq) AS b, COUNT(*) AS n FROM log_v3 WHERE ts < ? AND body IS NOT NULL',
        )
        .get(beforeNs) as { a: bigint | null; b: bigint | null; n: bigint };
      if (range.a === null || range.b === null) return;
      this.db
        .prepare(`UPDATE log_v3 SET ${pruneSetSql()} WHERE ts < ? AND body IS NOT NULL`)
        .run(beforeNs);
      // The index's copy of the text goes too (its FTS entries leave through a trigger);
      // records it has not reached yet are copied from the log without text.
      this.db
        .prepare(
          `UPDATE ${IDX}.events_v3 SET text = NULL WHERE seq >= ? AND seq <= ? AND text IS NOT NULL`,
        )
        .run(range.a, range.b);
      out = { from: Number(range.a), to: Number(range.b), count: Number(range.n) };
    })();
    return out;
  }

  getMeta(key: string): string | undefined {
    return this.stmts.getMeta.get(key) as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.settleBackground();
    this.stmts.setMeta.run(key, value);
  }

  close(): void {
    this.closed = true;
    const writer = this.logWriter;
    this.logWriter = null;
    writer?.close();
    const worker = this.worker;
    this.worker = null;
    // The worker finishes its batch and closes its connection (SQLite then removes the
    // index's -wal/-shm files); wait for that, briefly, so that a caller removing the data
    // dir right after close() does not race it. A batch still running after the wait (a
    // bulk build) is rolled back when the process ends and redone by the next writer.
    worker?.postMessage({ type: 'stop' });
    if (worker && this.workerStopped) Atomics.wait(this.workerStopped, 0, 0, STOP_WAIT_MS);
    if (this.db.open) this.db.close();
  }
}

function toCheckpoint(r: { size: bigint; ts: bigint; root: Buffer; note: string }): CheckpointRow {
  return { size: Number(r.size), timestampNs: BigInt(r.ts), root: r.root, note: r.note };
}
