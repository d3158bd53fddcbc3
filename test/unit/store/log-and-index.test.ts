/**
 * The store's two files: the log the Recorder appends to, and the index a worker thread
 * builds from it. Answers must not depend on how far the index has got.
 */
import Database from 'better-sqlite3';
import { copyFileSync, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../../src/audit/recorder.js';
import { type EventFilter, SqliteStore } from '../../../src/store/index.js';
import {
  attachIndexForWriter,
  indexBatch,
  indexPathOf,
} from '../../../src/store/sqlite-indexer.js';
import { INDEX_DEFINITIONS } from '../../../src/store/sqlite-schema.js';
import { until } from '../../helpers/wait.js';
import { C1, C6, buildDataset, context } from './dataset.js';

const FILTERS: EventFilter[] = [
  {},
  { listener: 'orders-db' },
  { text: 'orders' },
  { outcome: 'failure' },
  { communityId: '1:c1-client' },
  { actions: ['db-query', 'redis-command'] },
  { port: 15432 },
  { user: 'app', order: 'oldest' },
];

function answers(store: SqliteStore): unknown[] {
  return FILTERS.flatMap((f) => [
    store.search({ limit: 3, ...f }).rows.map((r) => r.sequence),
    store.search({ limit: 1000, ...f }).rows.map((r) => r.sequence),
    store.count(f),
    store.groupBy(f, 'action'),
    store.groupBy(f, 'hour'),
  ]);
}

describe('log and index', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pw-log-index-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every split point between index and tail gives the same answers', () => {
    const reference = buildDataset();
    reference.store.indexNow();
    const expected = answers(reference.store);
    const end = reference.store.nextSequence();
    for (let upto = 0; upto <= end; upto += 3) {
      // No worker here: this test moves the index by hand.
      const d = buildDataset(new SqliteStore(join(dir, `split-${upto}.db`), { indexer: 'none' }));
      d.store.close();
      const store = new SqliteStore(join(dir, `split-${upto}.db`), { indexer: 'none' });
      store.indexSome(upto);
      expect(store.indexStatus().indexedUpto).toBe(Math.min(upto, end));
      expect(answers(store), `index up to ${upto}`).toEqual(expected);
      expect(store.connectionEnds('c2').close?.sequence).toBe(10);
      expect(store.connectionAt('10.0.0.1', 50001, d.duringC1)?.open.connectionId).toBe('c1');
      expect(store.getById(store.getBySequence(12)?.id ?? '')?.sequence).toBe(12);
      store.close();
    }
    reference.store.close();
  });

  it('the worker thread indexes what the gateway appends, and a reader sees all of it', async () => {
    const path = join(dir, 'worker.db');
    const d = buildDataset(path);
    expect(d.store.indexStatus().indexer).toBe('worker');
    const rec = new Recorder(d.store, { mode: 'async', flushMs: 1000, observer: 'node-a' });
    for (let i = 0; i < 3000; i++) {
      rec.append(
        {
          event: { action: 'db-query', category: ['database'], type: ['access'] },
          db: { query: { text: `SELECT ${i} FROM orders` } },
        },
        context(C6),
      );
    }
    rec.flush();
    const end = d.store.nextSequence();
    await until(() => d.store.indexStatus().indexedUpto === end, 20_000, 'the indexer');
    expect(d.store.indexStatus().lastError).toBeNull();
    const reader = new SqliteStore(path, { readonly: true });
    expect(reader.count({ text: 'orders' })).toBe(3004);
    expect(reader.search({ text: '2999', limit: 5 }).rows).toHaveLength(1);
    expect(reader.explain({ listener: 'orders-db' }).join(' ')).toContain('events_v3_listener');
    reader.close();
    d.store.close();
  });

  it('a new log gets 64 KiB pages and the worker copies its WAL into it; an old log keeps its pages', async () => {
    const path = join(dir, 'checkpointed.db');
    const store = new SqliteStore(path);
    const rec = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'node-a' });
    for (let i = 0; i < 2000; i++) {
      rec.append(
        {
          event: { action: 'db-query', category: ['database'], type: ['access'] },
          db: { query: { text: `SELECT ${i}, '${'x'.repeat(400)}' FROM orders` } },
        },
        context(C6),
      );
    }
    rec.flush();
    // While the worker runs, only its checkpoint moves pages from the WAL into the log file:
    // this connection (the event loop's) never copies the WAL inside one of its commits.
    // Without the worker it checkpoints past 40 MiB of WAL (640 pages of 64 KiB).
    const walPages = (s: SqliteStore): unknown =>
      (s as unknown as { db: Database.Database }).db.pragma('wal_autocheckpoint', {
        simple: true,
      });
    expect(walPages(store)).toBe(0n);
    // A worker that exits hands the checkpoints back until it is started again (after 1 s).
    const worker = (store as unknown as { worker: Worker }).worker;
    await worker.terminate();
    await until(() => walPages(store) === 640n, 5_000, 'this connection to checkpoint again');
    await until(() => walPages(store) === 0n, 10_000, 'the restarted worker to checkpoint');
    const alone = new SqliteStore(join(dir, 'no-worker.db'), { indexer: 'none' });
    expect(walPages(alone)).toBe(640n);
    alone.close();
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('page_size', { simple: true })).toBe(65536);
    await until(() => statSync(path).size > 1_000_000, 20_000, 'the log file to receive the WAL');
    expect(raw.prepare('SELECT COUNT(*) FROM log_v3').pluck().get()).toBe(2000);
    raw.close();
    store.close();

    const old = join(dir, 'old-pages.db');
    const made = new Database(old);
    made.pragma('page_size = 4096');
    made.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)');
    made.close();
    const reopened = new SqliteStore(old, { indexer: 'none' });
    reopened.close();
    const check = new Database(old, { readonly: true });
    expect(check.pragma('page_size', { simple: true })).toBe(4096);
    check.close();
  });

  it('a read-only open without the index file answers from the log', () => {
    const path = join(dir, 'no-index.db');
    const d = buildDataset(path);
    d.store.indexNow();
    const expected = answers(d.store);
    d.store.close();
    rmSync(join(dir, 'no-index.index.db'));
    rmSync(join(dir, 'no-index.index.db-wal'), { force: true });
    rmSync(join(dir, 'no-index.index.db-shm'), { force: true });
    const reader = new SqliteStore(path, { readonly: true });
    expect(answers(reader)).toEqual(expected);
    reader.close();
    // The next writer rebuilds it.
    const writer = new SqliteStore(path, { indexer: 'none' });
    writer.indexNow();
    expect(existsSync(join(dir, 'no-index.index.db'))).toBe(true);
    expect(writer.indexStatus().indexedUpto).toBe(writer.nextSequence());
    expect(answers(writer)).toEqual(expected);
    writer.close();
  });

  it('a bulk build commits in chunks, answers stay right meanwhile, and a restart resumes it', () => {
    const reference = buildDataset();
    reference.store.indexNow();
    const expected = answers(reference.store);
    reference.store.close();
    const path = join(dir, 'bulk.db');
    buildDataset(new SqliteStore(path, { indexer: 'none' })).store.close();
    const small = { threshold: 2, chunk: 3 };
    const open = (): Database.Database => {
      const db = new Database(path);
      attachIndexForWriter(db, indexPathOf(path));
      return db;
    };
    const meta = (db: Database.Database, key: string): unknown =>
      db.prepare('SELECT value FROM idx.index_meta WHERE key = ?').pluck().get(key);
    const indexes = (db: Database.Database): number =>
      Number(
        db
          .prepare(
            "SELECT COUNT(*) FROM idx.sqlite_master WHERE type = 'index' AND sql IS NOT NULL",
          )
          .pluck()
          .get(),
      );
    let db = open();
    const first = indexBatch(db, 4096, small);
    expect(first.upto).toBe(0);
    expect(meta(db, 'bulk_to')).toBe(String(first.end));
    expect(indexes(db)).toBe(0);
    let steps = 1;
    let p = first;
    while (p.upto < p.end) {
      // Mid-build, a reader answers from the log; halfway, the writer "crashes" and restarts.
      const reader = new SqliteStore(path, { readonly: true });
      expect(reader.indexStatus().indexedUpto).toBe(0);
      expect(answers(reader)).toEqual(expected);
      reader.close();
      if (steps === 4) {
        db.close();
        db = open();
      }
      p = indexBatch(db, 4096, small);
      steps++;
    }
    // The start, a chunk per 3 records, one step per index, the step that makes them count.
    expect(steps).toBe(2 + Math.ceil(first.end / 3) + INDEX_DEFINITIONS.length);
    expect(meta(db, 'bulk_to')).toBeUndefined();
    expect(meta(db, 'indexed_upto')).toBe(String(first.end));
    expect(indexes(db)).toBe(INDEX_DEFINITIONS.length);
    db.close();
    const store = new SqliteStore(path, { readonly: true });
    expect(store.indexStatus().indexedUpto).toBe(first.end);
    expect(answers(store)).toEqual(expected);
    store.close();
  });

  it('an index built from another log is thrown away and rebuilt from this one', () => {
    const a = buildDataset(join(dir, 'a.db'));
    a.store.indexNow();
    a.store.close();
    const b = buildDataset(join(dir, 'b.db'));
    const rec = new Recorder(b.store, { mode: 'async', flushMs: 1000, observer: 'node-b' });
    rec.append(
      {
        event: { action: 'db-query', category: ['database'], type: ['access'] },
        db: { query: { text: 'SELECT only_in_b' } },
      },
      context(C1),
    );
    rec.flush();
    b.store.close();
    copyFileSync(join(dir, 'a.index.db'), join(dir, 'b.index.db'));
    rmSync(join(dir, 'b.index.db-wal'), { force: true });
    rmSync(join(dir, 'b.index.db-shm'), { force: true });
    const store = new SqliteStore(join(dir, 'b.db'), { indexer: 'none' });
    expect(store.indexStatus().indexedUpto).toBe(0);
    store.indexNow();
    expect(store.count({ text: 'only_in_b' })).toBe(1);
    store.close();
  });

  it('migrates a v2 store: the indexed table becomes the log, the index is rebuilt', () => {
    const path = join(dir, 'v2.db');
    const ref = buildDataset();
    ref.store.indexNow();
    const expected = answers(ref.store);
    const db = new Database(path);
    const rows = [...ref.store.iterate()];
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '2'), ('fts_upto', '0');
      CREATE TABLE events_v2 (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, id TEXT NOT NULL,
        action TEXT NOT NULL, outcome TEXT, listener TEXT, conn TEXT, src_ip TEXT, src_port INTEGER,
        dst_ip TEXT, dst_port INTEGER, up_local_ip TEXT, up_local_port INTEGER, up_ip TEXT,
        up_port INTEGER, user TEXT, community_id TEXT, up_community_id TEXT, rule TEXT,
        policy_version TEXT, db_namespace TEXT, operation TEXT, class TEXT, status TEXT, node TEXT,
        text TEXT, body TEXT, leaf BLOB NOT NULL);
      CREATE INDEX events_v2_ts ON events_v2 (ts);
      CREATE INDEX events_v2_user ON events_v2 (user, seq);
      CREATE VIRTUAL TABLE events_fts_v2 USING fts5(text, content = 'events_v2', content_rowid = 'seq');
      CREATE TABLE tree_v1 (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) WITHOUT ROWID;
      CREATE TABLE checkpoints_v1 (size INTEGER PRIMARY KEY, ts INTEGER NOT NULL,
        root BLOB NOT NULL, note TEXT NOT NULL);`);
    const ins = db.prepare(
      `INSERT INTO events_v2 (seq, ts, id, action, outcome, listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, user, community_id, up_community_id, rule, policy_version, db_namespace, operation, class, status, node, text, body, leaf) VALUES (${Array.from({ length: 28 }, () => '?').join(', ')})`,
    );
    for (const r of rows) {
      ins.run(
        r.sequence,
        r.timestampNs,
        r.id,
        r.action,
        r.outcome,
        r.listener,
        r.connectionId,
        r.sourceIp,
        r.sourcePort,
        r.destinationIp,
        r.destinationPort,
        r.upstreamLocalIp,
        r.upstreamLocalPort,
        r.upstreamIp,
        r.upstreamPort,
        r.user,
        r.communityId,
        r.upstreamCommunityId ?? null,
        r.rule ?? null,
        r.policyVersion ?? null,
        r.dbNamespace ?? null,
        r.operation ?? null,
        r.statementClass ?? null,
        r.status ?? null,
        r.node ?? null,
        r.text,
        r.body,
        r.leafHash,
      );
    }
    db.close();
    const store = new SqliteStore(path, { indexer: 'none' });
    expect(store.getMeta('schema_version')).toBe('5');
    expect(answers(store)).toEqual(expected);
    store.indexNow();
    expect(answers(store)).toEqual(expected);
    expect(store.getBySequence(3)?.body).toBe(rows[3]?.body);
    store.close();
    const check = new Database(path, { readonly: true });
    const names = check
      .prepare("SELECT name FROM sqlite_master WHERE name LIKE 'events%'")
      .pluck()
      .all();
    expect(names).toEqual([]);
    check.close();
    ref.store.close();
  });
});
