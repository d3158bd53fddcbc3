/**
 * Merkle append throughput with an in-memory node store, against a createHash-per-node
 * baseline measured in the same run (the shared scratch + one-shot crypto.hash in merkle.ts
 * is what the ratio shows). Run: node --import tsx bench/merkle-append.ts [leaves]
 */
import { createHash } from 'node:crypto';
import { MemoryNodeStore, MerkleTree, leafHash } from '../src/audit/integrity.js';

const n = Number(process.argv[2] ?? 1_000_000);
const leaves = Array.from({ length: n }, (_, i) => leafHash(`record ${i}`));

function baseline(): number {
  // The same frontier walk into the same store, hashing each node with a fresh createHash.
  const store = new MemoryNodeStore();
  const frontier: (Buffer | undefined)[] = [];
  const started = performance.now();
  for (let index = 0; index < n; index++) {
    let carry = leaves[index] ?? Buffer.alloc(32);
    let level = 0;
    let i = index;
    store.putNode(0, i, carry);
    while (i % 2 === 1) {
      const left = frontier[level] ?? carry;
      carry = createHash('sha256')
        .update(Buffer.from([1]))
        .update(left)
        .update(carry)
        .digest();
      frontier[level] = undefined;
      level++;
      i = (i - 1) / 2;
      store.putNode(level, i, carry);
    }
    frontier[level] = carry;
  }
  return n / ((performance.now() - started) / 1000);
}

function tree(): number {
  const t = new MerkleTree(new MemoryNodeStore());
  const started = performance.now();
  for (const leaf of leaves) t.append(leaf);
  const rate = n / ((performance.now() - started) / 1000);
  if (t.size !== n) throw new Error('size mismatch');
  return rate;
}

// Best of three alternating rounds: the first warms the JIT, and alternating evens out load.
let base = 0;
let ours = 0;
for (let round = 0; round < 3; round++) {
  base = Math.max(base, baseline());
  ours = Math.max(ours, tree());
}
console.log(
  `merkle-append: ${n} leaves, MerkleTree+MemoryNodeStore ${Math.round(ours)} appends/s, ` +
    `createHash baseline ${Math.round(base)} appends/s, ratio ${(ours / base).toFixed(2)}`,
);
