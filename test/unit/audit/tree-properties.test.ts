import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  MemoryNodeStore,
  MerkleTree,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/audit/integrity.js';
import type { TreeNodeStore } from '../../../src/audit/integrity.js';
import {
  naiveConsistency,
  naiveLeaf,
  naivePath,
  naiveRoot,
} from '../../helpers/audit-naive-merkle.js';

const leavesOf = (n: number): Buffer[] =>
  Array.from({ length: n }, (_, i) => naiveLeaf(Buffer.from(`leaf ${i}`)));

function treeOf(leaves: readonly Buffer[]): MerkleTree {
  const tree = new MerkleTree(new MemoryNodeStore());
  for (const l of leaves) tree.append(l);
  return tree;
}

const hex = (bs: readonly Buffer[]): string[] => bs.map((b) => b.toString('hex'));

/** Counts reads and refuses writes, to hold proofs to O(log n) reads. */
class CountingStore implements TreeNodeStore {
  reads = 0;
  constructor(private readonly inner: TreeNodeStore) {}
  getNode(level: number, index: number): Buffer | undefined {
    this.reads++;
    return this.inner.getNode(level, index);
  }
  putNode(level: number, index: number, hash: Buffer): void {
    this.inner.putNode(level, index, hash);
  }
}

function flipped(b: Buffer, at: number): Buffer {
  const c = Buffer.from(b);
  c[at % c.length] = (c[at % c.length] ?? 0) ^ 0x01;
  return c;
}

describe('MerkleTree properties (oracle: naive RFC 6962 §2.1 recursion)', () => {
  it('roots, inclusion and consistency proofs equal the naive ones for random sizes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 140 }), fc.nat(), fc.nat(), (n, r1, r2) => {
        const leaves = leavesOf(n);
        const tree = treeOf(leaves);
        const size = 1 + (r1 % n);
        const index = r2 % size;
        const past = leaves.slice(0, size);
        expect(tree.root(size).equals(naiveRoot(past))).toBe(true);
        expect(hex(tree.inclusionProof(index, size))).toEqual(hex(naivePath(index, past)));
        const size1 = 1 + (r2 % size);
        expect(hex(tree.consistencyProof(size1, size))).toEqual(hex(naiveConsistency(size1, past)));
      }),
      { numRuns: 300 },
    );
  });

  it('every inclusion proof verifies, and any flipped byte, wrong index or size fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(), (n, pick, flip) => {
        const leaves = leavesOf(n);
        const tree = treeOf(leaves);
        const root = tree.root();
        for (let i = 0; i < n; i++) {
          const leaf = leaves[i] ?? Buffer.alloc(0);
          const proof = tree.inclusionProof(i, n);
          expect(verifyInclusion(leaf, i, n, proof, root)).toBe(true);
          expect(verifyInclusion(leaf, i, n, proof, flipped(root, flip))).toBe(false);
          expect(verifyInclusion(flipped(leaf, flip), i, n, proof, root)).toBe(false);
          if (n > 1)
            expect(verifyInclusion(leaf, (i + 1 + (pick % (n - 1))) % n, n, proof, root)).toBe(
              false,
            );
          // A size whose path has another shape must fail; the size itself is bound by the
          // signed checkpoint, not by the path (sizes with the same shape verify alike).
          const wrongSize = i + 1 + (pick % (2 * n));
          if (wrongSize !== n && naivePath(i, leavesOf(wrongSize)).length !== proof.length) {
            expect(verifyInclusion(leaf, i, wrongSize, proof, root)).toBe(false);
          }
          if (proof.length > 0) {
            const at = pick % proof.length;
            const bad = proof.map((p, j) => (j === at ? flipped(p, flip) : p));
            expect(verifyInclusion(leaf, i, n, bad, root)).toBe(false);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('every consistency proof verifies, and any flipped byte or wrong size fails', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 70 }), fc.nat(), fc.nat(), (n, pick, flip) => {
        const tree = treeOf(leavesOf(n));
        for (let size1 = 1; size1 < n; size1++) {
          const size2 = size1 + 1 + (pick % (n - size1));
          const r1 = tree.root(size1);
          const r2 = tree.root(size2);
          const proof = tree.consistencyProof(size1, size2);
          expect(verifyConsistency(size1, size2, r1, r2, proof)).toBe(true);
          expect(verifyConsistency(size1, size2, flipped(r1, flip), r2, proof)).toBe(false);
          expect(verifyConsistency(size1, size2, r1, flipped(r2, flip), proof)).toBe(false);
          const at = pick % proof.length;
          const bad = proof.map((p, j) => (j === at ? flipped(p, flip) : p));
          expect(verifyConsistency(size1, size2, r1, r2, bad)).toBe(false);
          const wrong2 = size1 + 1 + (flip % (2 * n));
          if (
            wrong2 !== size2 &&
            naiveConsistency(size1, leavesOf(wrong2)).length !== proof.length
          ) {
            expect(verifyConsistency(size1, wrong2, r1, r2, proof)).toBe(false);
          }
          if (size1 > 1) expect(verifyConsistency(size1 - 1, size2, r1, r2, proof)).toBe(false);
        }
      }),
      { numRuns: 40 },
    );
  });

  it('reopening, roots and proofs read O(log n) nodes', () => {
    const n = 5000;
    const store = new CountingStore(new MemoryNodeStore());
    const tree = new MerkleTree(store);
    for (const l of leavesOf(n)) tree.append(l);
    expect(store.reads).toBe(0);
    const logN = Math.ceil(Math.log2(n));
    const reopened = new MerkleTree(store, n);
    expect(store.reads).toBeLessThanOrEqual(logN);
    for (const [a, b] of [
      [0, n],
      [1234, 4321],
      [4095, 4097],
      [2999, 3000],
    ] as const) {
      store.reads = 0;
      reopened.inclusionProof(a, b);
      reopened.root(b);
      reopened.consistencyProof(a + 1, b);
      expect(store.reads).toBeLessThanOrEqual(6 * logN);
    }
  });
});
