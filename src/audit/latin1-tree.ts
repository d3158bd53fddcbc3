/**
 * RFC 6962 hashing on "latin1" strings (one character per byte: Node's `latin1`, which crypto calls `binary`),
 * for verify's fast path (verify-range.ts). The same hashes as merkle.ts, but a digest as
 * a 32-character string costs a fraction of one as a Buffer (`hash(…, 'buffer')` gives
 * each digest its own ArrayBuffer), and a batch's stored leaves slice out of one string
 * without a copy, so a record is checked and folded into the tree without allocating a
 * Buffer. Callers pass well-formed 32-character hashes.
 */
import { hash } from 'node:crypto';
import { HASH_SIZE } from './merkle.js';

const scratch = Buffer.alloc(1 + 2 * HASH_SIZE);
scratch[0] = 0x01;

/** SHA-256 of `bytes` (0x00 ‖ body for a leaf) as a latin1 string. */
export function hashLatin1(bytes: Uint8Array): string {
  return hash('sha256', bytes, 'binary');
}

/** SHA-256(0x01 ‖ left ‖ right) as a latin1 string. */
export function nodeHashLatin1(left: string, right: string): string {
  scratch.write(left, 1, HASH_SIZE, 'latin1');
  scratch.write(right, 1 + HASH_SIZE, HASH_SIZE, 'latin1');
  return hash('sha256', scratch, 'binary');
}

/** The Merkle frontier of tree.ts `Frontier`, on latin1 hashes and without stored nodes. */
export class Latin1Frontier {
  private readonly nodes: (string | undefined)[] = [];
  private count = 0;

  get size(): number {
    return this.count;
  }

  append(leaf: string): void {
    let carry = leaf;
    let level = 0;
    let index = this.count;
    while (index % 2 === 1) {
      // A set bit of the size always has its subtree in the frontier.
      carry = nodeHashLatin1(this.nodes[level] as string, carry);
      this.nodes[level] = undefined;
      level++;
      index = (index - 1) / 2;
    }
    this.nodes[level] = carry;
    this.count++;
  }

  /** Folds the frontier subtrees below `level` into one hash (undefined when there are none). */
  foldBelow(level: number): string | undefined {
    let r: string | undefined;
    const top = Math.min(level, this.nodes.length);
    for (let l = 0; l < top; l++) {
      const n = this.nodes[l];
      if (n === undefined) continue;
      r = r === undefined ? n : nodeHashLatin1(n, r);
    }
    return r;
  }

  /** MTH of the leaves so far (undefined for no leaves). */
  root(): string | undefined {
    return this.foldBelow(this.nodes.length);
  }
}
