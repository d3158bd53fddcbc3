// verify's fast path hashes on latin1 strings (latin1-tree.ts); it must give exactly the
// hashes of merkle.ts and the frontier of tree.ts, whatever the body's characters and the
// tree's size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Latin1Frontier, hashLatin1, nodeHashLatin1 } from '../../../src/audit/latin1-tree.js';
import { EMPTY_ROOT, leafHash, nodeHash } from '../../../src/audit/merkle.js';
import { Frontier } from '../../../src/audit/tree.js';

const latin1 = (b: Buffer): string => b.toString('latin1');

describe('latin1 tree hashing', () => {
  it('hashLatin1 of 0x00 ‖ body and nodeHashLatin1 are leafHash and nodeHash', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (body, other) => {
          const leaf = leafHash(body);
          const input = Buffer.concat([Buffer.of(0), Buffer.from(body, 'utf8')]);
          expect(hashLatin1(input)).toBe(latin1(leaf));
          const o = Buffer.from(other);
          expect(nodeHashLatin1(latin1(leaf), latin1(o))).toBe(latin1(nodeHash(leaf, o)));
        },
      ),
    );
  });

  it('Latin1Frontier gives the root and the folds of Frontier at every size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 10 }), (n, level) => {
        const a = new Frontier();
        const b = new Latin1Frontier();
        expect(b.root()).toBeUndefined();
        for (let i = 0; i < n; i++) {
          const leaf = leafHash(`record ${i}`);
          a.append(leaf);
          b.append(latin1(leaf));
          expect(b.size).toBe(a.size);
        }
        expect(b.root() ?? latin1(EMPTY_ROOT)).toBe(latin1(a.root()));
        const folded = a.foldBelow(level);
        expect(b.foldBelow(level)).toBe(folded === undefined ? undefined : latin1(folded));
      }),
      { numRuns: 60 },
    );
  });
});
