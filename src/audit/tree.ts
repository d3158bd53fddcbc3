/**
 * An append-only RFC 6962 Merkle tree over a node store. Node (level, i) is the hash of the
 * complete subtree over leaves [i·2^level, (i+1)·2^level); only complete subtrees are
 * stored, so every root and proof is composed from at most O(log n) stored nodes.
 */
import { PortwardenError } from '../errors.js';
import { EMPTY_ROOT, HASH_SIZE, nodeHash, splitPoint } from './merkle.js';

/**
 * Where the tree keeps its complete-subtree hashes (the store's tree table, or memory). A
 * store may leave out levels 1 to FOLDED_LEVELS (answering undefined): readers fold those
 * from the leaves (`readNode`).
 */
export interface TreeNodeStore {
  getNode(level: number, index: number): Buffer | undefined;
  putNode(level: number, index: number, hash: Buffer): void;
}

/**
 * The interior levels a store need not keep. Level 3 spans 8 leaves, so a node folded on
 * read costs at most 8 leaf reads, while keeping only levels ≥ 4 writes one node for every
 * 16 records instead of one for every record (SqliteStore; ~1 µs of each append).
 */
export const FOLDED_LEVELS = 3;

/**
 * Node (level, index): as stored, or — at the low levels a store may leave out — the hash
 * of its two children, down to the leaves. Undefined when a piece is missing.
 */
export function readNode(
  store: Pick<TreeNodeStore, 'getNode'>,
  level: number,
  index: number,
): Buffer | undefined {
  const stored = store.getNode(level, index);
  if (stored !== undefined || level === 0 || level > FOLDED_LEVELS) return stored;
  const left = readNode(store, level - 1, 2 * index);
  if (left === undefined || left.length !== HASH_SIZE) return undefined;
  const right = readNode(store, level - 1, 2 * index + 1);
  if (right === undefined || right.length !== HASH_SIZE) return undefined;
  return nodeHash(left, right);
}

/** A TreeNodeStore in memory, for tests, proofs built offline and verification. */
export class MemoryNodeStore implements TreeNodeStore {
  private readonly levels: Buffer[][] = [];
  getNode(level: number, index: number): Buffer | undefined {
    return this.levels[level]?.[index];
  }
  putNode(level: number, index: number, hash: Buffer): void {
    let row = this.levels[level];
    if (row === undefined) {
      row = [];
      this.levels[level] = row;
    }
    row[index] = hash;
  }
}

const pow2 = (level: number): number => 2 ** level;
// Bit `level` of n by arithmetic: sizes may exceed 2^31, where `>>` would wrap.
const bitSet = (n: number, level: number): boolean => Math.floor(n / pow2(level)) % 2 === 1;

/**
 * A frontier as data: the tree's size and the root of each complete subtree on its right
 * edge, by level (the store's writer thread goes on from it: store/types.ts).
 */
export interface TreeEdge {
  readonly size: number;
  readonly nodes: readonly (Uint8Array | undefined)[];
}

/**
 * The right frontier of a tree: the roots of the complete subtrees that make up its leaves
 * (one per set bit of the size). Appending and the current root cost no node reads.
 */
export class Frontier {
  private readonly nodes: (Buffer | undefined)[] = [];
  private count = 0;

  /** The number of leaves appended. */
  get size(): number {
    return this.count;
  }

  /** Appends a leaf hash; `onComplete` receives the leaf and every subtree it completes. */
  append(leaf: Buffer, onComplete?: (level: number, index: number, hash: Buffer) => void): void {
    let carry = leaf;
    let level = 0;
    let index = this.count;
    onComplete?.(0, index, carry);
    while (index % 2 === 1) {
      const left = this.nodes[level];
      if (left === undefined) throw internal('frontier is missing a left sibling');
      carry = nodeHash(left, carry);
      this.nodes[level] = undefined;
      level++;
      index = (index - 1) / 2;
      onComplete?.(level, index, carry);
    }
    this.nodes[level] = carry;
    this.count++;
  }

  /** The complete subtree at `level` in the frontier (bit `level` of the size must be set). */
  node(level: number): Buffer | undefined {
    return this.nodes[level];
  }

  /** Its size and complete-subtree roots, to go on from elsewhere (`restore`). */
  edge(): TreeEdge {
    return { size: this.count, nodes: this.nodes.slice() };
  }

  /** Sets the frontier of a tree of `size` leaves from its complete-subtree roots. */
  restore(size: number, nodeAt: (level: number, index: number) => Buffer): void {
    this.nodes.length = 0;
    let offset = 0;
    for (let level = 53; level >= 0; level--) {
      if (!bitSet(size, level)) continue;
      this.nodes[level] = nodeAt(level, offset / pow2(level));
      offset += pow2(level);
    }
    this.count = size;
  }

  /** Sets the frontier from an `edge()`; every root its size calls for must be there. */
  restoreEdge(edge: TreeEdge): void {
    this.restore(edge.size, (level) => {
      const node = edge.nodes[level];
      if (node === undefined || node.length !== HASH_SIZE)
        throw internal(`tree edge of size ${edge.size} lacks its level-${level} root`);
      return Buffer.from(node.buffer, node.byteOffset, node.byteLength);
    });
  }

  /** MTH of the leaves so far: fold the frontier from its smallest subtree upward. */
  root(): Buffer {
    return this.foldBelow(this.nodes.length) ?? Buffer.from(EMPTY_ROOT);
  }

  /** Folds the frontier subtrees below `level` into one hash (undefined when there are none). */
  foldBelow(level: number): Buffer | undefined {
    let r: Buffer | undefined;
    const top = Math.min(level, this.nodes.length);
    for (let l = 0; l < top; l++) {
      const n = this.nodes[l];
      if (n === undefined) continue;
      r = r === undefined ? Buffer.from(n) : nodeHash(n, r);
    }
    return r;
  }
}

function internal(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_INTERNAL', { detail });
}

/** The append-only Merkle tree of the audit log, persisted through a TreeNodeStore. */
export class MerkleTree {
  private readonly store: TreeNodeStore;
  private readonly frontier = new Frontier();
  private readonly put: (level: number, index: number, hash: Buffer) => void;

  /** Opens the tree of `size` leaves already in `store`, reading O(log size) nodes. */
  constructor(store: TreeNodeStore, size = 0) {
    if (!Number.isSafeInteger(size) || size < 0) throw internal(`bad tree size ${size}`);
    this.store = store;
    this.put = (level, index, hash) => store.putNode(level, index, hash);
    this.frontier.restore(size, (level, index) => this.node(level, index));
  }

  /** The number of leaves in the tree. */
  get size(): number {
    return this.frontier.size;
  }

  /** Where appending goes on from: for a commit on the store's writer thread. */
  edge(): TreeEdge {
    return this.frontier.edge();
  }

  /** After leaves were appended elsewhere (the writer thread stored their nodes): go on from there. */
  adopt(edge: TreeEdge): void {
    if (!Number.isSafeInteger(edge.size) || edge.size < this.size)
      throw internal(`tree edge of size ${edge.size} is behind the tree (${this.size})`);
    this.frontier.restoreEdge(edge);
  }

  /** Appends a leaf hash, storing it and every subtree it completes; reads nothing. */
  append(leaf: Buffer): number {
    if (leaf.length !== HASH_SIZE) throw internal(`leaf hash of ${leaf.length} bytes`);
    const index = this.frontier.size;
    this.frontier.append(leaf, this.put);
    return index;
  }

  /** The root of the tree at `size` leaves (default: now). */
  root(size: number = this.size): Buffer {
    this.checkSize(size);
    if (size === 0) return Buffer.from(EMPTY_ROOT);
    return this.rangeHash(0, size);
  }

  /** The audit path of leaf `index` in the tree of `size` leaves — RFC 6962 §2.1.1. */
  inclusionProof(index: number, size: number = this.size): Buffer[] {
    this.checkSize(size);
    if (!Number.isSafeInteger(index) || index < 0 || index >= size) {
      throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `leaf ${index} in a tree of ${size}` });
    }
    // PATH(m, D[a:b]) descends toward the leaf; the proof lists the siblings bottom-up.
    const ranges: [number, number][] = [];
    let a = 0;
    let b = size;
    while (b - a > 1) {
      const k = splitPoint(b - a);
      if (index < a + k) {
        ranges.push([a + k, b]);
        b = a + k;
      } else {
        ranges.push([a, a + k]);
        a = a + k;
      }
    }
    return this.hashRanges(ranges);
  }

  /** The consistency proof from `size1` to `size2` leaves — RFC 6962 §2.1.2. */
  consistencyProof(size1: number, size2: number = this.size): Buffer[] {
    this.checkSize(size2);
    if (!Number.isSafeInteger(size1) || size1 < 0 || size1 > size2) {
      throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `tree size ${size1} before ${size2}` });
    }
    if (size1 === 0 || size1 === size2) return [];
    // SUBPROOF(m, D[a:b], complete): descend, collecting the sibling at each step.
    const ranges: [number, number][] = [];
    let m = size1;
    let a = 0;
    let b = size2;
    let complete = true;
    while (m !== b - a) {
      const k = splitPoint(b - a);
      if (m <= k) {
        ranges.push([a + k, b]);
        b = a + k;
      } else {
        ranges.push([a, a + k]);
        m -= k;
        a = a + k;
        complete = false;
      }
    }
    if (!complete) ranges.push([a, b]);
    return this.hashRanges(ranges);
  }

  private hashRanges(topDown: [number, number][]): Buffer[] {
    const out: Buffer[] = [];
    for (let i = topDown.length - 1; i >= 0; i--) {
      const range = topDown[i];
      if (range !== undefined) out.push(this.rangeHash(range[0], range[1]));
    }
    return out;
  }

  /**
   * MTH of leaves [a, b) where a is a multiple of a power of two ≥ b − a (every range the
   * RFC recursion produces): the complete subtrees of b − a from the left, folded right to
   * left. Proof ranges are disjoint, so only one per proof ends at the right edge and the
   * whole proof reads O(log n) nodes; a range ending at the current size reads none.
   */
  private rangeHash(a: number, b: number): Buffer {
    const width = b - a;
    if (b === this.size) {
      // The low bits of the size below a's alignment are exactly the bits of the width.
      let level = 0;
      while (pow2(level) < width) level++;
      const folded =
        pow2(level) === width ? this.frontier.node(level) : this.frontier.foldBelow(level);
      if (folded !== undefined) return Buffer.from(folded);
    }
    const pieces: Buffer[] = [];
    let offset = a;
    for (let level = 53; level >= 0; level--) {
      if (!bitSet(width, level)) continue;
      pieces.push(this.node(level, offset / pow2(level)));
      offset += pow2(level);
    }
    let r = pieces.pop();
    if (r === undefined) throw internal(`empty range [${a}, ${b})`);
    for (let i = pieces.length - 1; i >= 0; i--) {
      const left = pieces[i];
      if (left !== undefined) r = nodeHash(left, r);
    }
    return r;
  }

  private node(level: number, index: number): Buffer {
    const hash = readNode(this.store, level, index);
    if (hash === undefined || hash.length !== HASH_SIZE) {
      // A low node is folded from its leaves: one of those records is gone or damaged.
      const folded =
        level >= 1 && level <= FOLDED_LEVELS
          ? `: it is folded from records ${index * pow2(level)}–${(index + 1) * pow2(level) - 1}, one of which is missing or damaged (portwarden verify names it)`
          : '';
      throw new PortwardenError('PW_ERR_STORE', {
        detail: `Merkle node (level ${level}, index ${index}) is missing or malformed${folded}`,
      });
    }
    return hash;
  }

  private checkSize(size: number): void {
    if (!Number.isSafeInteger(size) || size < 0 || size > this.size) {
      throw new PortwardenError('PW_ERR_NOT_FOUND', {
        what: `tree size ${size} (now ${this.size})`,
      });
    }
  }
}
