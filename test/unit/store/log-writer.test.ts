// The log's writer thread (sqlite-writer.ts): the Recorder's scheduled commits run on it
// while this thread goes on; waiters run only once their records are committed; an
// explicit flush settles the batch in flight first; a refused batch is kept, retried and
// lands once the store accepts it again; the leaves it hashes and the tree nodes it writes
// make a log that verifies, and a batch that does not follow the tree's edge is refused.
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Checkpointer } from '../../../src/audit/checkpointer.js';
import {
  Frontier,
  MemoryNodeStore,
  MerkleTree,
  leafHash,
  loadOrCreateNodeKey,
  verifyLog,
} from '../../../src/audit/integrity.js';
import type { EventInput } from '../../../src/audit/event.js';
import { Recorder } from '../../../src/audit/recorder.js';
import { storeLogSource } from '../../../src/audit/store-log.js';
import { type EventRow, SqliteStore } from '../../../src/store/index.js';
import { until } from '../../helpers/wait.js';

/** Enough records that the store hands a batch to its writer thread. */
const BACKGROUND_RECORDS = 128;

const dirs: string[] = [];
const stores: SqliteStore[] = [];
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setUp(mode: 'strict' | 'async' = 'strict', fsync = false) {
  const dir = mkdtempSync(join(tmpdir(), 'pw-log-writer-'));
  dirs.push(dir);
  const path = join(dir, 'portwarden.db');
  const store = new SqliteStore(path, { indexer: 'none', writer: 'thread', fsync });
  stores.push(store);
  const key = loadOrCreateNodeKey(dir, 'node-w');
  const checkpointer = new Checkpointer(store, key, 'node-w', dir);
  const recorder = new Recorder(store, {
    mode,
    flushMs: 5,
    observer: 'node-w',
    tree: checkpointer,
  });
  checkpointer.attach(recorder);
  // Counts the batches the writer thread took (the store's own method, observed).
  const handed = { batches: 0 };
  const original = store.transactionInBackground.bind(store);
  store.transactionInBackground = (records, fn, done, edge) => {
    const taken = original(records, fn, done, edge);
    if (taken) handed.batches++;
    return taken;
  };
  return { dir, path, store, key, checkpointer, recorder, handed };
}

/** Signs a checkpoint over everything appended, then verifies the log. */
function signAndVerify(
  recorder: Recorder,
  checkpointer: Checkpointer,
  store: SqliteStore,
  key: { readonly verifierKey: string },
) {
  checkpointer.checkpointNow();
  recorder.flush();
  return verifyLog(storeLogSource(store), { verifierKeys: [key.verifierKey], origin: 'node-w' });
}

function record(i: number): EventInput {
  return {
    event: { action: 'db-query', category: ['database'], type: ['access'] },
    db: { query: { text: `SELECT ${i}` } },
  };
}

describe('the log writer thread', () => {
  it('commits scheduled batches off this thread and runs waiters once their records are in', async () => {
    const { store, recorder, handed } = setUp();
    // The thread says when its connection is open.
    await store.writerReady();
    const seen: number[] = [];
    for (let i = 0; i < 2500; i++) {
      const ref = recorder.append(record(i));
      if (i % 500 === 0) {
        recorder.afterCommit(() => {
          // Every record up to this one is committed when the waiter runs.
          expect(store.nextSequence()).toBeGreaterThan(ref.sequence);
          seen.push(ref.sequence);
        });
      }
      // Give the loop a turn now and then, as a gateway does between reads.
      if (i % 300 === 299) await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => seen.length === 5 && !recorder.mustWait(), 10_000, 'the waiters');
    expect(seen).toEqual([0, 500, 1000, 1500, 2000]);
    expect(store.nextSequence()).toBe(2500);
    expect(recorder.committedCount).toBe(2500);
    expect(store.backgroundBusy).toBe(false);
    expect(handed.batches).toBeGreaterThan(0);
  });

  // A strict turn of a few records commits on this thread (the hop would cost more),
  // unless each commit syncs the disk: that wait belongs off the loop.
  for (const [fsync, where, batches] of [
    [false, 'on this thread', 0],
    [true, 'on the writer thread, with fsync', 1],
  ] as const) {
    it(`commits a strict turn of a few records ${where}`, async () => {
      const { store, recorder, handed } = setUp('strict', fsync);
      let released = false;
      for (let i = 0; i < 5; i++) recorder.append(record(i));
      recorder.afterCommit(() => {
        released = true;
      });
      await until(() => released, 10_000, 'the commit');
      expect(store.nextSequence()).toBe(5);
      expect(handed.batches).toBe(batches);
    });
  }

  it('an explicit flush settles the batch in flight, then commits the rest here', async () => {
    const { store, recorder } = setUp('async');
    for (let i = 0; i < 1000; i++) recorder.append(record(i));
    // 1000 pending: the commit is scheduled for the end of this turn, on the writer.
    await new Promise((resolve) => setImmediate(resolve));
    const inFlight = store.backgroundBusy;
    for (let i = 1000; i < 1100; i++) recorder.append(record(i));
    expect(recorder.flush()).toBe(true);
    expect(store.nextSequence()).toBe(1100);
    expect(store.backgroundBusy).toBe(false);
    // The batch went to the writer thread (it may have landed before the flush asked).
    expect(inFlight || recorder.committedCount === 1100).toBe(true);
    expect(recorder.committedCount).toBe(1100);
  });

  it('keeps a batch the store refused, retries it, and commits it once the store accepts again', async () => {
    const { path, store, recorder, checkpointer, key, handed } = setUp('strict');
    for (let i = 0; i < 10; i++) recorder.append(record(i));
    expect(recorder.flush()).toBe(true);
    // Another writer takes the next sequence: the writer thread's insert of 10 is refused.
    const other = new Database(path);
    other
      .prepare(
        "INSERT INTO log_v3 (seq, ts, id, action, body, leaf) VALUES (10, 0, 'x', 'x', NULL, zeroblob(32))",
      )
      .run();
    const health: boolean[] = [];
    recorder.onHealth((healthy) => health.push(healthy));
    let released = false;
    // Enough records that the scheduled commit goes to the writer thread.
    for (let i = 10; i < 210; i++) recorder.append(record(i));
    recorder.afterCommit(() => {
      released = true;
    });
    await until(() => health.includes(false), 10_000, 'the refusal');
    expect(handed.batches).toBe(1);
    expect(released).toBe(false);
    expect(recorder.mustWait()).toBe(true);
    other.prepare('DELETE FROM log_v3 WHERE seq = 10').run();
    other.close();
    await until(() => released, 10_000, 'the retried commit');
    expect(health[health.length - 1]).toBe(true);
    expect(store.nextSequence()).toBe(210);
    expect(signAndVerify(recorder, checkpointer, store, key).ok).toBe(true);
  });

  it('writes the Merkle nodes with the records: checkpoints and verify agree at any size', async () => {
    const { store, recorder, checkpointer, key } = setUp('async');
    for (let i = 0; i < 5000; i++) {
      recorder.append(record(i));
      if (i % 700 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (i % 1800 === 0) checkpointer.checkpointNow();
    }
    const result = signAndVerify(recorder, checkpointer, store, key);
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.checkpoints).toBeGreaterThanOrEqual(4);
  });

  it('hands listeners rows whose leaves the writer hashed, and the tree goes on from its edge', async () => {
    const { store, recorder, checkpointer, handed } = setUp('async');
    await store.writerReady();
    const seen: EventRow[] = [];
    recorder.onCommit((rows) => seen.push(...rows));
    for (let i = 0; i < 3000; i++) {
      recorder.append(record(i));
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => seen.length === 3000, 10_000, 'the commits');
    expect(handed.batches).toBeGreaterThan(0);
    // The same leaves and root as a tree built here from the committed bodies.
    const reference = new MerkleTree(new MemoryNodeStore());
    for (const row of seen) {
      expect(row.leafHash.equals(leafHash(row.body as string))).toBe(true);
      expect(store.getNode(0, row.sequence)?.equals(row.leafHash)).toBe(true);
      reference.append(row.leafHash);
    }
    expect(checkpointer.treeSize).toBe(3000);
    expect(checkpointer.merkleTree.root().equals(reference.root())).toBe(true);
    // A strict flush after background batches appends here, from the adopted edge.
    recorder.append(record(3000));
    expect(recorder.flush()).toBe(true);
    const last = seen[3000] as EventRow;
    expect(last.leafHash.equals(leafHash(last.body as string))).toBe(true);
    reference.append(last.leafHash);
    expect(checkpointer.merkleTree.root().equals(reference.root())).toBe(true);
    expect(new MerkleTree(store, 3001).root().equals(reference.root())).toBe(true);
  });

  it('commits bodies written as bytes across chunks, a body larger than a chunk among them, as the same text', async () => {
    const { store, recorder, checkpointer, key, handed } = setUp('async');
    await store.writerReady();
    const seen: EventRow[] = [];
    recorder.onCommit((rows) => seen.push(...rows));
    const big = `SELECT '${'é☕'.repeat(100_000)}'`;
    for (let i = 0; i < 1500; i++) {
      recorder.append(i === 700 ? { ...record(i), db: { query: { text: big } } } : record(i));
    }
    await until(() => seen.length === 1500, 10_000, 'the commits');
    expect(handed.batches).toBeGreaterThan(0);
    for (const row of seen) {
      const stored = store.getBySequence(row.sequence);
      // Read twice: the first read decodes the bytes, the second returns the same text.
      expect(row.body).toBe(stored?.body);
      expect(row.body).toBe(stored?.body);
      expect(row.leafHash.equals(stored?.leafHash ?? Buffer.alloc(0))).toBe(true);
    }
    expect(JSON.parse(seen[700]?.body as string)).toMatchObject({ db: { query: { text: big } } });
    // Stored as text, as a body written on this thread is.
    const db = new Database(store.path, { readonly: true });
    const types = db.prepare('SELECT DISTINCT typeof(body) AS t FROM log_v3').all();
    db.close();
    expect(types).toEqual([{ t: 'text' }]);
    expect(signAndVerify(recorder, checkpointer, store, key).ok).toBe(true);
  });

  it('refuses a batch whose tree edge does not end where the batch begins', () => {
    const { store, recorder } = setUp('async');
    for (let i = 0; i < 10; i++) recorder.append(record(i));
    expect(recorder.flush()).toBe(true);
    const rows = [...store.iterate(0, 10)];
    // An edge of 9 leaves before a batch that starts at 10.
    const early = new Frontier();
    for (const row of rows.slice(0, 9)) early.append(row.leafHash);
    const next = { ...(rows[9] as EventRow), sequence: 10, id: 'late' };
    let answer: Error | null | undefined;
    const taken = store.transactionInBackground(
      BACKGROUND_RECORDS,
      () => store.insertEvent(next),
      (err) => {
        answer = err;
      },
      early.edge(),
    );
    expect(taken).toBe(true);
    store.settleBackground();
    expect(answer?.message).toMatch(/tree holds 9 leaves, the batch starts at 10/);
    expect(store.nextSequence()).toBe(10);
  });

  it('loses its writer thread with a batch in flight: every record lands once, the log verifies', async () => {
    const { store, recorder, checkpointer, key } = setUp('async');
    await store.writerReady();
    for (let i = 0; i < 600; i++) recorder.append(record(i));
    await until(() => store.backgroundBusy, 10_000, 'a batch in flight');
    // The thread ends before or after its commit: the store looks in the log to know which.
    const writer = Reflect.get(store, 'logWriter') as object;
    await (Reflect.get(writer, 'worker') as Worker).terminate();
    await until(() => recorder.committedCount === 600, 10_000, 'the batch, landed or retried');
    for (let i = 600; i < 900; i++) recorder.append(record(i));
    expect(recorder.flush()).toBe(true);
    expect(store.nextSequence()).toBe(900);
    expect(store.commitsInBackground).toBe(false);
    const result = signAndVerify(recorder, checkpointer, store, key);
    expect(result.ok).toBe(true);
  });

  it('a batch that landed unseen (its writer lost before answering): leaves hashed here, tree read back', async () => {
    const { store, recorder, checkpointer, key } = setUp('async');
    await store.writerReady();
    // The answer the store gives when the log holds a lost writer's batch: no leaves, no edge.
    const original = store.transactionInBackground.bind(store);
    store.transactionInBackground = (records, fn, done, edge) =>
      original(records, fn, (err) => done(err, null), edge);
    const seen: EventRow[] = [];
    recorder.onCommit((rows) => seen.push(...rows));
    for (let i = 0; i < 700; i++) recorder.append(record(i));
    await until(() => seen.length === 700, 10_000, 'the batch');
    for (const row of seen) expect(row.leafHash.equals(leafHash(row.body as string))).toBe(true);
    expect(checkpointer.treeSize).toBe(700);
    expect(signAndVerify(recorder, checkpointer, store, key).ok).toBe(true);
  });
});
