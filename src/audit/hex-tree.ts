/**
 * RFC 6962 hashing on lowercase hex strings, for verify's fast path (verify-range.ts).
 * The same hashes as merkle.ts, but a digest as a string costs a fraction of one as a
 * Buffer (`hash(…, 'buffer')` gives each digest its own ArrayBuffer), and the log hands
 * the stored leaf over as hex (`lower(hex(leaf))`), so a record is checked and folded into
 * the tree without allocating a Buffer. Callers pass well-formed 64-digit hashes.
 */
import { hash } from 'node:crypto';
import { HASH_SIZE } from './merkle.js';

/** Digits of one hash in hex. */
export const HASH_HEX_LENGTH = 2 * HASH_SIZE;

const scratch = Buffer.alloc(1 + 2 * HASH_SIZE);
scratch[0] = 0x01;

/**
 * The leaf hash SHA-256(0x00 ‖ body) as hex, of a `leafInput` that already starts with
 * U+0000 (Store.leafRowsHex; U+0000 encodes as the single byte 0x00 in UTF-8).
 */
export function prefixedLeafHashHex(leafInput: string): string {
  return hash('sha256', leafInput, 'hex');
}

/** SHA-256(0x01 ‖ left ‖ right) as hex. */
export function nodeHashHex(left: string, right: string): string {
  scratch.write(left, 1, HASH_SIZE, 'hex');
  scratch.write(right, 1 + HASH_SIZE, HASH_SIZE, 'hex');
  return hash('sha256', scratch, 'hex');
}

/** The Merkle frontier of tree.ts `Frontier`, on hex hashes and without stored nodes. */
export class HexFrontier {
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
      carry = nodeHashHex(this.nodes[level] as string, carry);
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
      r = r === undefined ? n : nodeHashHex(n, r);
    }
    return r;
  }

  /** MTH of the leaves so far (undefined for no leaves). */
  root(): string | undefined {
    return this.foldBelow(this.nodes.length);
  }
}
