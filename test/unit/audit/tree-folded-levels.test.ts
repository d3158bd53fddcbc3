/**
 * A node store may leave out the low interior levels (1 to FOLDED_LEVELS): the tree folds
 * them from the leaves on read. The embedded store keeps levels ≥ 4 only.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { readNode } from '../../../src/audit/tree.js';
import {
  MemoryNodeStore,
  MerkleTree,
  verifyConsistency,
  verifyInclusion,
  verifyLog,
} from '../../../src/audit/integrity.js';
import type { TreeNodeStore } from '../../../src/audit/integrity.js';
import { SqliteStore } from '../../../src/store/index.js';
import { naiveLeaf, naiveRoot } from '../../helpers/audit-naive-merkle.js';
import { makeSignedStore } from '../../helpers/signed-store.js';
import { storeLogSource } from '../../../src/audit/store-log.js';

const leavesOf = (n: number): Buffer[] =>
  Array.from({ length: n }, (_, i) => naiveLeaf(Buffer.from(`leaf ${i}`)));

/** Keeps the leaves and levels ≥ 4, as the embedded store does. */
class SparseStore implements TreeNodeStore {
  readonly inner = new MemoryNodeStore();
  getNode(level: number, index: number): Buffer | undefined {
    return level >= 1 && level <= 3 ? undefined : this.inner.getNode(level, index);
  }
  putNode(level: number, index: number, hash: Buffer): void {
    if (level === 0 || level >= 4) this.inner.putNode(level, index, hash);
  }
}

const hex = (bs: readonly Buffer[]): string[] => bs.map((b) => b.toString('hex'));

describe('folded tree levels', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('roots and proofs over a store without levels 1–3 equal those over every level', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 300 }), fc.nat(), fc.nat(), (n, r1, r2) => {
        const leaves = leavesOf(n);
        const full = new MerkleTree(new MemoryNodeStore());
        const sparseStore = new SparseStore();
        const sparse = new MerkleTree(sparseStore);
        for (const l of leaves) {
          full.append(l);
          sparse.append(l);
        }
        const size = 1 + (r1 % n);
        const index = r2 % size;
        const size1 = 1 + (r2 % size);
        // Reopened from the store alone, the frontier is read (and folded) too.
        const reopened = new MerkleTree(sparseStore, n);
        const root = reopened.root(size);
        expect(root.equals(naiveRoot(leaves.slice(0, size)))).toBe(true);
        const inclusion = reopened.inclusionProof(index, size);
        expect(hex(inclusion)).toEqual(hex(full.inclusionProof(index, size)));
        expect(
          verifyInclusion(leaves[index] ?? Buffer.alloc(0), index, size, inclusion, root),
        ).toBe(true);
        const consistency = reopened.consistencyProof(size1, size);
        expect(hex(consistency)).toEqual(hex(full.consistencyProof(size1, size)));
        expect(verifyConsistency(size1, size, reopened.root(size1), root, consistency)).toBe(true);
      }),
      { numRuns: 200 },
    );
  });

  it('folds no further than level 3, and a missing leaf leaves the node missing', () => {
    const store = new SparseStore();
    const tree = new MerkleTree(store);
    for (const l of leavesOf(32)) tree.append(l);
    expect(readNode(store, 3, 1)?.equals(nodeOf(store, 3, 1))).toBe(true);
    expect(readNode(store, 4, 0)?.equals(tree.root(16))).toBe(true);
    expect(readNode(store, 5, 0)?.equals(tree.root(32))).toBe(true);
    // Level 3 node 4 would span leaves 32–39: none exist.
    expect(readNode(store, 3, 4)).toBeUndefined();
    // A store missing a level-4 node is not rescued by folding 16 leaves.
    const holed: TreeNodeStore = {
      getNode: (level, index) =>
        level === 4 && index === 1 ? undefined : store.getNode(level, index),
      putNode: () => undefined,
    };
    expect(readNode(holed, 4, 1)).toBeUndefined();
    expect(() => new MerkleTree(holed, 32).inclusionProof(0, 32)).toThrow(/level 4, index 1/);
    // A missing leaf: a proof that needs the low node folded from it names the records.
    const leafless: TreeNodeStore = {
      getNode: (level, index) =>
        level === 0 && index === 5 ? undefined : store.getNode(level, index),
      putNode: () => undefined,
    };
    expect(() => new MerkleTree(leafless, 32).inclusionProof(0, 32)).toThrow(
      /index 1\) is missing or malformed: it is folded from records 4–7, one of which is missing/,
    );
  });

  it('the embedded store writes levels ≥ 4 only, and proofs and verify from a checkpoint hold', () => {
    const signed = makeSignedStore(dirs, 200, (i) => i === 99);
    const raw = new Database(signed.path, { readonly: true });
    const levels = raw
      .prepare('SELECT k % 64 AS level, COUNT(*) AS n FROM tree_v2 GROUP BY level ORDER BY level')
      .all() as { level: number; n: number }[];
    raw.close();
    // 200 records (and the checkpoint records): 12 complete 16-leaf subtrees, 6 of 32, …
    expect(levels.map((l) => l.level)).toEqual([4, 5, 6, 7]);
    const store = new SqliteStore(signed.path, { indexer: 'none' });
    try {
      const size = store.nextSequence();
      const memory = new MerkleTree(new MemoryNodeStore());
      const leaves = [...store.iterate(0, size)].map((r) => r.leafHash);
      for (const l of leaves) memory.append(l);
      const tree = new MerkleTree(store, size);
      expect(tree.root().equals(memory.root())).toBe(true);
      for (const i of [0, 7, 8, 15, 16, 99, size - 1]) {
        expect(hex(tree.inclusionProof(i, size))).toEqual(hex(memory.inclusionProof(i, size)));
      }
      expect(hex(tree.consistencyProof(37, size))).toEqual(hex(memory.consistencyProof(37, size)));
      const source = storeLogSource(store);
      const from = verifyLog(source, {
        verifierKeys: [signed.key.verifierKey],
        origin: 'node-t',
        fromCheckpoint: 1,
      });
      source.release();
      expect(from).toMatchObject({ ok: true, size });
    } finally {
      store.close();
    }
  });

  it('a v3 log (tree_v1, every level) serves proofs read-only, and migrates to tree_v2 when a writer opens it', () => {
    const signed = makeSignedStore(dirs, 300, (i) => i === 150);
    // Make it a v3 log: every interior level in tree_v1, keyed (level, idx).
    const raw = new Database(signed.path);
    const leaves = raw.prepare('SELECT leaf FROM log_v3 ORDER BY seq').pluck().all() as Buffer[];
    const full = new MemoryNodeStore();
    const memory = new MerkleTree(full);
    for (const l of leaves) memory.append(l);
    raw.exec(`DROP TABLE tree_v2;
      CREATE TABLE tree_v1 (level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
        PRIMARY KEY (level, idx)) WITHOUT ROWID;
      UPDATE meta SET value = '3' WHERE key = 'schema_version';`);
    const put = raw.prepare('INSERT INTO tree_v1 (level, idx, hash) VALUES (?, ?, ?)');
    for (let level = 1; 2 ** level <= leaves.length; level++)
      for (let idx = 0; (idx + 1) * 2 ** level <= leaves.length; idx++) {
        const node = full.getNode(level, idx);
        if (node !== undefined) put.run(level, idx, node);
      }
    raw.close();
    const size = leaves.length;
    const proofsOf = (tree: MerkleTree): string[][] =>
      [0, 15, 16, 151, size - 1].map((i) => hex(tree.inclusionProof(i, size)));
    const expected = proofsOf(memory);

    const reader = new SqliteStore(signed.path, { readonly: true });
    expect(proofsOf(new MerkleTree(reader, size))).toEqual(expected);
    reader.close();

    const writer = new SqliteStore(signed.path, { indexer: 'none' });
    expect(writer.getMeta('schema_version')).toBe('5');
    expect(proofsOf(new MerkleTree(writer, size))).toEqual(expected);
    writer.close();
    const after = new Database(signed.path, { readonly: true });
    const tables = after
      .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'tree_%'")
      .pluck()
      .all();
    const levels = after.prepare('SELECT DISTINCT k % 64 FROM tree_v2 ORDER BY 1').pluck().all();
    after.close();
    expect(tables).toEqual(['tree_v2']);
    expect(levels).toEqual([4, 5, 6, 7, 8]);
    const again = new SqliteStore(signed.path, { readonly: true });
    const source = storeLogSource(again);
    expect(
      verifyLog(source, {
        verifierKeys: [signed.key.verifierKey],
        origin: 'node-t',
        fromCheckpoint: 1,
      }),
    ).toMatchObject({ ok: true, size });
    source.release();
    again.close();
  });
});

function nodeOf(store: SparseStore, level: number, index: number): Buffer {
  const full = new MerkleTree(new MemoryNodeStore());
  const n = 2 ** level;
  for (let i = 0; i < n; i++) {
    const leaf = store.getNode(0, index * n + i);
    if (leaf === undefined) throw new Error('missing leaf');
    full.append(leaf);
  }
  return full.root();
}
