// The parallel verify of the embedded store: on a sound log it composes every checkpoint's
// root from the workers' chunk roots and partial frontiers and agrees with verifyLog; on
// every kind of tampering (including one only the roots reveal) it gives verifyLog's verdict.
import Database from 'better-sqlite3';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { leafHash, verifyLog, verifyLogParallel } from '../../../src/audit/integrity.js';
import { storeLogSource } from '../../../src/audit/store-log.js';
import { SqliteStore } from '../../../src/store/index.js';
import { type NodeKey, makeSignedStore } from '../../helpers/signed-store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

type Key = NodeKey;

/** A log of `records` records with a checkpoint after each record index in `checkpointsAt`. */
function makeLog(records: number, checkpointsAt: readonly number[]): { dir: string; key: Key } {
  const at = new Set(checkpointsAt);
  return makeSignedStore(dirs, records, (i) => at.has(i), 'node-p');
}

function copyOf(dir: string, edit?: (db: Database.Database) => void): string {
  const copy = mkdtempSync(join(tmpdir(), 'pw-verify-parallel-case-'));
  dirs.push(copy);
  cpSync(dir, copy, { recursive: true });
  if (edit) {
    const db = new Database(join(copy, 'portwarden.db'));
    edit(db);
    db.close();
  }
  return copy;
}

async function both(dir: string, key: Key, chunkLevel: number, threads = 3, batch?: number) {
  const store = new SqliteStore(join(dir, 'portwarden.db'), { readonly: true });
  try {
    const options = { verifierKeys: [key.verifierKey], origin: key.name };
    const source = storeLogSource(store);
    const sequential = verifyLog(source, options);
    source.release();
    const progress: number[] = [];
    const fellBack: string[] = [];
    const parallel = await verifyLogParallel(store, {
      ...options,
      threads,
      chunkLevel,
      ...(batch === undefined ? {} : { batch }),
      onProgress: (done) => progress.push(done),
      onSequential: (why) => fellBack.push(why),
    });
    return { sequential, parallel, progress, fellBack, size: store.nextSequence() };
  } finally {
    store.close();
  }
}

describe('verifyLogParallel', () => {
  // 8-leaf chunks; checkpoints on and off chunk boundaries, one at a range boundary.
  const base = makeLog(300, [0, 6, 7, 15, 63, 64, 100, 151, 200, 255]);

  it('agrees with verifyLog on a sound log and reports progress to the end', async () => {
    const r = await both(base.dir, base.key, 3);
    expect(r.parallel.ok).toBe(true);
    expect(r.fellBack).toEqual([]);
    expect(r.parallel).toEqual(r.sequential);
    if (r.parallel.ok) expect(r.parallel.checkpoints).toBeGreaterThanOrEqual(11);
    expect(r.progress[r.progress.length - 1]).toBe(r.size);
  });

  it('reports progress as records checked so far, rising to the size, on one thread and on two', async () => {
    const big = makeLog(40_000, [20_000]);
    for (const [threads, level] of [
      [1, 14],
      [2, 12],
    ] as const) {
      const r = await both(big.dir, big.key, level, threads);
      expect(r.parallel.ok).toBe(true);
      expect(r.fellBack).toEqual([]);
      // Several reports below the size (not one jump to the end), never going back or over.
      expect(r.progress.filter((p) => p < r.size).length).toBeGreaterThanOrEqual(2);
      for (let i = 1; i < r.progress.length; i++)
        expect(r.progress[i]).toBeGreaterThanOrEqual(r.progress[i - 1] ?? 0);
      expect(Math.max(...r.progress)).toBe(r.size);
      expect(r.progress[r.progress.length - 1]).toBe(r.size);
    }
  });

  it('agrees for any thread count, chunk size and batch size', async () => {
    for (const [threads, level, batch] of [
      [2, 2, undefined],
      [4, 4, 7],
      [8, 1, 1],
      [5, 5, 64],
      [1, 3, undefined],
      [1, 16, 13],
    ] as const) {
      const r = await both(base.dir, base.key, level, threads, batch);
      expect(r.parallel).toEqual(r.sequential);
      expect(r.parallel.ok).toBe(true);
      expect(r.fellBack).toEqual([]);
    }
  });

  const cases: [string, (db: Database.Database) => void][] = [
    [
      'an edited body',
      (db) => db.prepare("UPDATE log_v3 SET body = body || ' ' WHERE seq = 77").run(),
    ],
    ['a deleted record', (db) => db.prepare('DELETE FROM log_v3 WHERE seq = 130').run()],
    [
      'two swapped records',
      (db) => {
        const a = db.prepare('SELECT body, leaf FROM log_v3 WHERE seq = 40').get() as {
          body: string;
          leaf: Buffer;
        };
        const b = db.prepare('SELECT body, leaf FROM log_v3 WHERE seq = 41').get() as {
          body: string;
          leaf: Buffer;
        };
        const set = db.prepare('UPDATE log_v3 SET body = ?, leaf = ? WHERE seq = ?');
        set.run(b.body, b.leaf, 40);
        set.run(a.body, a.leaf, 41);
      },
    ],
    ['a truncated tail', (db) => db.prepare('DELETE FROM log_v3 WHERE seq >= 250').run()],
    [
      // Past the last checkpoint (255) no signed root fixes the order: only the bodies'
      // event.sequence tells, and the fast path scans them there.
      'two swapped records in the unsigned tail',
      (db) => {
        const get = db.prepare('SELECT body, leaf FROM log_v3 WHERE seq = ?');
        const a = get.get(280) as { body: string; leaf: Buffer };
        const b = get.get(281) as { body: string; leaf: Buffer };
        const set = db.prepare('UPDATE log_v3 SET body = ?, leaf = ? WHERE seq = ?');
        set.run(b.body, b.leaf, 280);
        set.run(a.body, a.leaf, 281);
      },
    ],
    [
      // The leaves read back to back are unchanged; each row's own leaf is not 32 bytes.
      'a leaf byte moved to the next leaf',
      (db) => {
        const get = db.prepare('SELECT leaf FROM log_v3 WHERE seq = ?').pluck();
        const a = get.get(50) as Buffer;
        const b = get.get(51) as Buffer;
        const set = db.prepare('UPDATE log_v3 SET leaf = ? WHERE seq = ?');
        set.run(a.subarray(0, 31), 50);
        set.run(Buffer.concat([a.subarray(31), b]), 51);
      },
    ],
    [
      // Body and leaf rewritten together: every record check passes, only the roots tell.
      'a rewritten body with its leaf recomputed',
      (db) => {
        const row = db.prepare('SELECT body FROM log_v3 WHERE seq = 90').get() as { body: string };
        const body = row.body.replace('SELECT ', 'SELECT 1');
        expect(body).not.toBe(row.body);
        db.prepare('UPDATE log_v3 SET body = ?, leaf = ? WHERE seq = 90').run(body, leafHash(body));
      },
    ],
    [
      'a forged checkpoint',
      (db) =>
        db
          .prepare(
            "UPDATE checkpoints_v1 SET note = replace(note, '—', '-') WHERE size = (SELECT size FROM checkpoints_v1 ORDER BY size LIMIT 1 OFFSET 4)",
          )
          .run(),
    ],
    [
      'a checkpoint root edited',
      (db) => {
        const c = db
          .prepare('SELECT note FROM checkpoints_v1 ORDER BY size LIMIT 1 OFFSET 5')
          .get() as {
          note: string;
        };
        const lines = c.note.split('\n');
        lines[2] = Buffer.alloc(32, 7).toString('base64');
        db.prepare('UPDATE checkpoints_v1 SET note = ? WHERE note = ?').run(
          lines.join('\n'),
          c.note,
        );
      },
    ],
  ];
  for (const [name, edit] of cases) {
    it(`gives verifyLog's verdict for ${name}, with workers or on one thread`, async () => {
      const dir = copyOf(base.dir, edit);
      // Batches of 10 put the edits at seq 40/41, 77, 90 and 130 on and across batch edges.
      for (const [threads, batch] of [
        [3, undefined],
        [3, 10],
        [1, 10],
        [1, undefined],
      ] as const) {
        const r = await both(dir, base.key, 3, threads, batch);
        expect(r.sequential.ok).toBe(false);
        if (name.startsWith('a rewritten') && !r.sequential.ok)
          expect(r.sequential.kind).toBe('root-mismatch');
        expect(r.fellBack).toHaveLength(1);
        expect(r.parallel).toEqual(r.sequential);
      }
    });
  }

  it('reads a body by its bytes whatever type it is stored with, as verifyLog does', async () => {
    const dir = copyOf(base.dir, (db) =>
      db.prepare('UPDATE log_v3 SET body = CAST(body AS BLOB) WHERE seq BETWEEN 30 AND 33').run(),
    );
    for (const threads of [3, 1]) {
      const r = await both(dir, base.key, 3, threads, 10);
      expect(r.sequential.ok).toBe(true);
      expect(r.parallel).toEqual(r.sequential);
      expect(r.fellBack).toEqual([]);
    }
  });

  it('falls back when whole batches are missing, in the middle or at the end', async () => {
    for (const [where, sql] of [
      ['middle', 'DELETE FROM log_v3 WHERE seq >= 100 AND seq < 120'],
      ['end', 'DELETE FROM log_v3 WHERE seq >= 280'],
    ] as const) {
      const dir = copyOf(base.dir, (db) => db.prepare(sql).run());
      for (const threads of [1, 3]) {
        const r = await both(dir, base.key, 3, threads, 10);
        expect(r.sequential.ok, where).toBe(false);
        expect(r.fellBack, where).toHaveLength(1);
        expect(r.parallel, where).toEqual(r.sequential);
      }
    }
  });

  it('reports the pruned range as verifyLog does', async () => {
    const dir = copyOf(base.dir, (db) =>
      db.prepare('UPDATE log_v3 SET body = NULL, text = NULL WHERE seq BETWEEN 20 AND 180').run(),
    );
    for (const threads of [3, 1]) {
      const r = await both(dir, base.key, 3, threads, 16);
      expect(r.parallel.ok).toBe(true);
      expect(r.parallel).toEqual(r.sequential);
      expect(r.fellBack).toEqual([]);
      if (r.parallel.ok) expect(r.parallel.pruned).toEqual({ from: 20, to: 180 });
    }
  });

  it('agrees with verifyLog for random sizes, checkpoints, chunks and threads', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 160 }),
        fc.array(fc.integer({ min: 0, max: 159 }), { maxLength: 12 }),
        fc.integer({ min: 1, max: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: 1, max: 40 }),
        async (records, at, level, threads, batch) => {
          const log = makeLog(records, at);
          const r = await both(log.dir, log.key, level, threads, batch);
          expect(r.parallel.ok).toBe(true);
          expect(r.parallel).toEqual(r.sequential);
        },
      ),
      { numRuns: 12 },
    );
  });
});
