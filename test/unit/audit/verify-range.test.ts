// One range of the fast verify, read in batches: a log of large records is read in fewer
// records at a time, and a batch SQLite refuses as too big is read again in halves.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRange, nextBatchSize, type ReadBatch } from '../../../src/audit/verify-range.js';
import { SqliteStore } from '../../../src/store/index.js';
import { makeSignedStore } from '../../helpers/signed-store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('checkRange', () => {
  const log = makeSignedStore(dirs, 100, (i) => i === 49);

  it('reads a batch again in halves when SQLite refuses it as too big', () => {
    const store = new SqliteStore(log.path, { readonly: true });
    try {
      // The real batches, refused as SQLite refuses a value over its limit when they
      // hold more than three records' bytes.
      const asked: number[] = [];
      const read: ReadBatch = (from, to) => {
        asked.push(to - from);
        const batch = store.leafBatch(from, to);
        if (batch.count > 3) throw new Error('string or blob too big');
        return batch;
      };
      const task = { from: 0, to: 100, chunkLevel: 4, checkpointSizes: [50, 100], signedSize: 100 };
      const halved = checkRange(read, { ...task, batch: 16 });
      const whole = checkRange((from, to) => store.leafBatch(from, to), { ...task, batch: 16 });
      expect(halved.sound).toBe(true);
      expect(halved).toEqual(whole);
      expect(asked.slice(0, 4)).toEqual([16, 8, 4, 2]);
    } finally {
      store.close();
    }
  });

  it('gives up on a single record SQLite refuses', () => {
    const read: ReadBatch = () => {
      throw new Error('string or blob too big');
    };
    const task = { from: 0, to: 10, chunkLevel: 2, checkpointSizes: [], signedSize: 0 };
    expect(() => checkRange(read, { ...task, batch: 8 })).toThrow(/too big/);
  });

  it('reads fewer records at a time when records are large', () => {
    const mb = 1024 * 1024;
    expect(nextBatchSize(4096, 3 * mb, 4096)).toBe(4096);
    expect(nextBatchSize(4096, 64 * mb, 4096)).toBe(1024);
    expect(nextBatchSize(2, 400 * mb, 4096)).toBe(1);
  });
});
