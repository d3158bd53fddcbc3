// verify's fast path hashes on hex strings (hex-tree.ts); it must give exactly the hashes of
// merkle.ts and the frontier of tree.ts, whatever the body's characters and the tree's size.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { HexFrontier, nodeHashHex, prefixedLeafHashHex } from '../../../src/audit/hex-tree.js';
import { EMPTY_ROOT, leafHash, nodeHash } from '../../../src/audit/merkle.js';
import { Frontier } from '../../../src/audit/tree.js';

describe('hex tree hashing', () => {
  it('prefixedLeafHashHex and nodeHashHex are leafHash and nodeHash in hex', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'grapheme' }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        (body, other) => {
          const leaf = leafHash(body);
          expect(prefixedLeafHashHex('\u0000' + body)).toBe(leaf.toString('hex'));
          const o = Buffer.from(other);
          expect(nodeHashHex(leaf.toString('hex'), o.toString('hex'))).toBe(
            nodeHash(leaf, o).toString('hex'),
          );
        },
      ),
    );
  });

  it('HexFrontier gives the root and the folds of Frontier at every size', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 10 }), (n, level) => {
        const a = new Frontier();
        const b = new HexFrontier();
        expect(b.root()).toBeUndefined();
        for (let i = 0; i < n; i++) {
          const leaf = leafHash(`record ${i}`);
          a.append(leaf);
          b.append(leaf.toString('hex'));
          expect(b.size).toBe(a.size);
        }
        expect(b.root() ?? EMPTY_ROOT.toString('hex')).toBe(a.root().toString('hex'));
        expect(b.foldBelow(level)).toBe(a.foldBelow(level)?.toString('hex'));
      }),
      { numRuns: 60 },
    );
  });
});
