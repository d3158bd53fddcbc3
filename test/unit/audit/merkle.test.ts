// RFC 6962 / RFC 9162 vectors from transparency-dev/merkle testonly/constants.go, as listed in
// /work/shared/reference/vectors.md ("RFC 6962 / RFC 9162 Merkle tree").
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  MemoryNodeStore,
  MerkleTree,
  checkConsistency,
  checkInclusion,
  leafHash,
  nodeHash,
  verifyConsistency,
  verifyInclusion,
} from '../../../src/audit/integrity.js';

const h = (hex: string): Buffer => Buffer.from(hex, 'hex');
const INPUTS = [
  '',
  '00',
  '10',
  '2021',
  '3031',
  '40414243',
  '5051525354555657',
  '606162636465666768696a6b6c6d6e6f',
];
const ROOTS = [
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d',
  'fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125',
  'aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77',
  'd37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7',
  '4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4',
  '76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef',
  'ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c',
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
].map(h);
const root = (n: number): Buffer => ROOTS[n] ?? Buffer.alloc(0);
const L = [
  ROOTS[1] ?? Buffer.alloc(0),
  h('96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7'),
  h('0298d122906dcfc10892cb53a73992fc5b9f493ea4c9badb27b791b4127a7fe7'),
  h('07506a85fd9dd2f120eb694f86011e5bb4662e5c415a62917033d4a9624487e7'),
  h('bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b'),
  h('4271a26be0d8a84f0bd54c8c302e7cb3a3b5d1fa6780a40bcce2873477dab658'),
  h('b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f'),
  h('46f6ffadd3d06a09ff3c5860d2755c8b9819db7df44251788c7d8e3180de8eb1'),
];
const leaf = (i: number): Buffer => L[i] ?? Buffer.alloc(0);
const N23 = h('5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e');
const N45 = h('0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a');
const N67 = h('ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0');
const N47 = h('6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4');

const INCLUSION: [number, number, Buffer[]][] = [
  [0, 8, [leaf(1), N23, N47]],
  [5, 8, [leaf(4), N67, root(4)]],
  [2, 3, [root(2)]],
  [1, 5, [leaf(0), N23, leaf(4)]],
];
const CONSISTENCY: [number, number, Buffer[]][] = [
  [1, 8, [leaf(1), N23, N47]],
  [6, 8, [N45, N67, root(4)]],
  [2, 5, [N23, leaf(4)]],
  [6, 7, [N45, leaf(6), root(4)]],
];

function vectorTree(): MerkleTree {
  const tree = new MerkleTree(new MemoryNodeStore());
  for (const input of INPUTS) tree.append(leafHash(h(input)));
  return tree;
}

describe('merkle hashing (RFC 9162 §2.1.1)', () => {
  it('hashes the vector leaves, strings as UTF-8', () => {
    INPUTS.forEach((input, i) => expect(leafHash(h(input)).equals(leaf(i))).toBe(true));
    expect(leafHash('').equals(leaf(0))).toBe(true);
    expect(leafHash(' !').equals(leaf(3))).toBe(true); // 0x20 0x21
    expect(EMPTY_ROOT.equals(root(0))).toBe(true);
  });

  it('hashes the vector interior nodes', () => {
    expect(nodeHash(leaf(2), leaf(3)).equals(N23)).toBe(true);
    expect(nodeHash(leaf(4), leaf(5)).equals(N45)).toBe(true);
    expect(nodeHash(leaf(6), leaf(7)).equals(N67)).toBe(true);
    expect(nodeHash(N45, N67).equals(N47)).toBe(true);
  });
});

describe('MerkleTree against the vectors', () => {
  it('gives every vector root, now and for past sizes', () => {
    const tree = new MerkleTree(new MemoryNodeStore());
    expect(tree.root().equals(root(0))).toBe(true);
    INPUTS.forEach((input, i) => {
      tree.append(leafHash(h(input)));
      expect(tree.root().toString('hex')).toBe(root(i + 1).toString('hex'));
    });
    for (let n = 0; n <= 8; n++) expect(tree.root(n).toString('hex')).toBe(root(n).toString('hex'));
  });

  it.each(INCLUSION)('inclusion proof (%i, %i)', (index, size, expected) => {
    const proof = vectorTree().inclusionProof(index, size);
    expect(proof.map((p) => p.toString('hex'))).toEqual(expected.map((p) => p.toString('hex')));
    expect(verifyInclusion(leaf(index), index, size, expected, root(size))).toBe(true);
  });

  it.each(CONSISTENCY)('consistency proof %i → %i', (size1, size2, expected) => {
    const proof = vectorTree().consistencyProof(size1, size2);
    expect(proof.map((p) => p.toString('hex'))).toEqual(expected.map((p) => p.toString('hex')));
    expect(verifyConsistency(size1, size2, root(size1), root(size2), expected)).toBe(true);
  });

  it('reopens from the store with the same roots and proofs', () => {
    const store = new MemoryNodeStore();
    const tree = new MerkleTree(store);
    for (const input of INPUTS.slice(0, 5)) tree.append(leafHash(h(input)));
    const reopened = new MerkleTree(store, 5);
    expect(reopened.root().equals(root(5))).toBe(true);
    for (const input of INPUTS.slice(5)) reopened.append(leafHash(h(input)));
    expect(reopened.root().equals(root(8))).toBe(true);
    expect(reopened.inclusionProof(5, 8).map((p) => p.toString('hex'))).toEqual(
      [leaf(4), N67, root(4)].map((p) => p.toString('hex')),
    );
  });

  it('refuses sizes and indexes outside the tree', () => {
    const tree = vectorTree();
    expect(() => tree.root(9)).toThrow(/not found/);
    expect(() => tree.inclusionProof(8, 8)).toThrow(/not found/);
    expect(() => tree.consistencyProof(5, 4)).toThrow(/not found/);
    expect(() => tree.append(Buffer.alloc(31))).toThrow(/internal/);
    expect(() => new MerkleTree(new MemoryNodeStore(), 3)).toThrow(/Merkle node/);
  });
});

describe('inclusion verification rejects (RFC 9162 §2.1.3.2)', () => {
  const [index, size, proof] = INCLUSION[1] ?? [0, 0, []];
  it('index >= size', () => {
    expect(checkInclusion(leaf(5), 8, 8, proof, root(8))).toEqual({
      ok: false,
      reason: 'leaf index 8 >= tree size 8',
    });
  });
  it('a proof one element too long or too short', () => {
    expect(verifyInclusion(leaf(index), index, size, [...proof, root(1)], root(size))).toBe(false);
    expect(verifyInclusion(leaf(index), index, size, proof.slice(0, 2), root(size))).toBe(false);
  });
  it('the wrong leaf, index, size or root', () => {
    expect(verifyInclusion(leaf(4), index, size, proof, root(size))).toBe(false);
    expect(verifyInclusion(leaf(index), 4, size, proof, root(size))).toBe(false);
    // Size 7 has the same path shape for leaf 5 as size 8; the signed size is what binds it.
    expect(verifyInclusion(leaf(index), index, 6, proof, root(size))).toBe(false);
    expect(verifyInclusion(leaf(index), index, size, proof, root(7))).toBe(false);
  });
  it('hashes of the wrong length and non-integer positions', () => {
    expect(verifyInclusion(leaf(index).subarray(1), index, size, proof, root(size))).toBe(false);
    expect(verifyInclusion(leaf(index), 5.5, size, proof, root(size))).toBe(false);
    expect(verifyInclusion(leaf(index), -1, size, proof, root(size))).toBe(false);
  });
  it('the one-leaf tree needs an empty proof', () => {
    expect(verifyInclusion(leaf(0), 0, 1, [], root(1))).toBe(true);
    expect(verifyInclusion(leaf(0), 0, 1, [leaf(0)], root(1))).toBe(false);
  });
});

describe('consistency verification rejects (RFC 9162 §2.1.4.2)', () => {
  it('an empty path between different sizes', () => {
    expect(checkConsistency(4, 8, root(4), root(8), [])).toEqual({
      ok: false,
      reason: 'empty proof between different sizes',
    });
  });
  it('accepts equal sizes only with an empty proof and equal roots', () => {
    expect(verifyConsistency(5, 5, root(5), root(5), [])).toBe(true);
    expect(verifyConsistency(5, 5, root(5), root(4), [])).toBe(false);
    expect(verifyConsistency(5, 5, root(5), root(5), [root(1)])).toBe(false);
  });
  it('the empty tree is consistent with every tree, with an empty proof', () => {
    expect(verifyConsistency(0, 8, EMPTY_ROOT, root(8), [])).toBe(true);
    expect(verifyConsistency(0, 8, root(1), root(8), [])).toBe(false);
    expect(verifyConsistency(0, 8, EMPTY_ROOT, root(8), [root(1)])).toBe(false);
  });
  it('size1 > size2, extra or missing elements, wrong roots', () => {
    const [s1, s2, proof] = CONSISTENCY[3] ?? [0, 0, []];
    expect(verifyConsistency(s2, s1, root(s2), root(s1), proof)).toBe(false);
    expect(verifyConsistency(s1, s2, root(s1), root(s2), [...proof, root(1)])).toBe(false);
    expect(verifyConsistency(s1, s2, root(s1), root(s2), proof.slice(0, -1))).toBe(false);
    expect(verifyConsistency(s1, s2, root(5), root(s2), proof)).toBe(false);
    expect(verifyConsistency(s1, s2, root(s1), root(8), proof)).toBe(false);
    expect(verifyConsistency(s1, 8, root(s1), root(8), proof)).toBe(false);
  });
  it('a power-of-two size1 whose root is not prepended', () => {
    expect(verifyConsistency(4, 8, root(4), root(8), [N47])).toBe(true);
    expect(verifyConsistency(4, 8, root(4), root(8), [root(4), N47])).toBe(false);
  });
});
