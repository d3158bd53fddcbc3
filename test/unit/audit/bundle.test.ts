import { describe, expect, it } from 'vitest';
import {
  MemoryNodeStore,
  MerkleTree,
  leafHash,
  makeConsistencyBundle,
  makeProofBundle,
  verifyBundle,
  verifyConsistencyBundle,
} from '../../../src/audit/integrity.js';
import type { ConsistencyBundle, ProofBundle } from '../../../src/audit/integrity.js';
import { rootOf, testBody, testCheckpoint, testKey, testRecord } from '../../helpers/audit-log.js';

const key = testKey('node-a', 1);
const other = testKey('node-a', 2);
const records = Array.from({ length: 21 }, (_, i) => testRecord(i));
const tree = new MerkleTree(new MemoryNodeStore());
for (const r of records) tree.append(r.leafHash);
const cp13 = testCheckpoint(key, 'node-a', 13, rootOf(records, 13));
const cp21 = testCheckpoint(key, 'node-a', 21, rootOf(records, 21));

function bundleFor(seq: number): ProofBundle {
  return makeProofBundle({
    record: testBody(seq),
    sequence: seq,
    path: tree.inclusionProof(seq, 21),
    checkpoint: cp21,
    verifierKey: key.verifierKey,
  });
}

function consistency(): ConsistencyBundle {
  return makeConsistencyBundle({
    checkpoint1: cp13,
    checkpoint2: cp21,
    proof: tree.consistencyProof(13, 21),
    verifierKey: key.verifierKey,
  });
}

describe('inclusion proof bundles', () => {
  it('verify offline for every record, also after a JSON round trip', () => {
    for (let seq = 0; seq < 21; seq++) {
      const bundle = JSON.parse(JSON.stringify(bundleFor(seq))) as unknown;
      expect(verifyBundle(bundle, { verifierKey: key.verifierKey, origin: 'node-a' })).toEqual({
        ok: true,
        origin: 'node-a',
        keyName: 'node-a',
        size: 21,
      });
    }
  });

  it.each<[string, RegExp, (b: ProofBundle) => unknown]>([
    [
      'an edited record',
      /leaf hash does not match/,
      (b) => ({ ...b, record: testBody(5, 'drop table') }),
    ],
    [
      'a leaf hash of another record',
      /record says sequence 6/,
      (b) => ({ ...b, record: testBody(6), leafHash: records[6]?.leafHash.toString('hex') }),
    ],
    [
      'a record without its sequence (its own leaf hash)',
      /record has no numeric event\.sequence/,
      (b) => {
        const record = '{"event":{"action":"db-query"}}';
        return { ...b, record, leafHash: leafHash(record).toString('hex') };
      },
    ],
    [
      'another sequence',
      /record says sequence 5/,
      (b) => ({ ...b, sequence: 6, inclusion: { ...b.inclusion, index: 6 } }),
    ],
    [
      'index past the size',
      /outside the tree/,
      (b) => ({
        ...b,
        sequence: 21,
        record: testBody(21),
        leafHash: testRecord(21).leafHash.toString('hex'),
        inclusion: { ...b.inclusion, index: 21 },
      }),
    ],
    [
      'a flipped path node',
      /root does not match/,
      (b) => ({
        ...b,
        inclusion: {
          ...b.inclusion,
          path: b.inclusion.path.map((p, i) =>
            i === 1 ? `${p[0] === 'a' ? 'b' : 'a'}${p.slice(1)}` : p,
          ),
        },
      }),
    ],
    [
      'a shortened path',
      /shorter than the path/,
      (b) => ({ ...b, inclusion: { ...b.inclusion, path: b.inclusion.path.slice(1) } }),
    ],
    [
      'a size that differs from the checkpoint',
      /checkpoint size is not the proof size/,
      (b) => ({ ...b, inclusion: { ...b.inclusion, size: 20 } }),
    ],
    [
      'a tampered checkpoint',
      /bad-signature/,
      (b) => ({ ...b, checkpoint: b.checkpoint.replace('\n21\n', '\n22\n') }),
    ],
    [
      'a checkpoint signed by another key',
      /unknown-key/,
      (b) => ({ ...b, checkpoint: testCheckpoint(other, 'node-a', 21, rootOf(records, 21)) }),
    ],
    [
      'a swapped-in key and checkpoint',
      /another key than the expected/,
      (b) => ({
        ...b,
        verifierKey: other.verifierKey,
        checkpoint: testCheckpoint(other, 'node-a', 21, rootOf(records, 21)),
      }),
    ],
    ['an unknown field', /not a proof bundle/, (b) => ({ ...b, extra: 1 })],
    ['another version', /not a proof bundle/, (b) => ({ ...b, version: 2 })],
    ['upper-case hex', /not a proof bundle/, (b) => ({ ...b, leafHash: b.leafHash.toUpperCase() })],
    ['not an object', /not a proof bundle/, () => 'bundle'],
  ])('refuses %s', (_what, reason, mutate) => {
    const result = verifyBundle(mutate(bundleFor(5)), { verifierKey: key.verifierKey });
    expect(result.ok ? 'accepted' : result.detail).toMatch(reason);
  });

  it('without an expected key trusts the bundled key, but still checks the origin', () => {
    const swapped = {
      ...bundleFor(5),
      verifierKey: other.verifierKey,
      checkpoint: testCheckpoint(other, 'node-a', 21, rootOf(records, 21)),
    };
    expect(verifyBundle(swapped).ok).toBe(true);
    expect(verifyBundle(bundleFor(5), { origin: 'node-b' })).toMatchObject({
      ok: false,
      detail: expect.stringMatching(/wrong-origin/) as string,
    });
  });
});

describe('consistency bundles', () => {
  it('verify offline after a JSON round trip', () => {
    const bundle = JSON.parse(JSON.stringify(consistency())) as unknown;
    expect(verifyConsistencyBundle(bundle, { verifierKey: key.verifierKey })).toEqual({
      ok: true,
      origin: 'node-a',
      keyName: 'node-a',
      size: 21,
    });
  });

  it.each<[string, RegExp, (b: ConsistencyBundle) => unknown]>([
    [
      'a flipped proof node',
      /consistency proof: first root/,
      (b) => ({
        ...b,
        proof: b.proof.map((p, i) => (i === 0 ? `${p[0] === 'a' ? 'b' : 'a'}${p.slice(1)}` : p)),
      }),
    ],
    [
      'an extra proof node',
      /longer than the path/,
      (b) => ({ ...b, proof: [...b.proof, b.root1] }),
    ],
    ['size1 not the first checkpoint size', /size1\/root1/, (b) => ({ ...b, size1: 12 })],
    ['root2 not the second checkpoint root', /size2\/root2/, (b) => ({ ...b, root2: b.root1 })],
    [
      'checkpoints of an inconsistent fork',
      /consistency proof: second root/,
      (b) => ({
        ...b,
        checkpoints: [
          b.checkpoints[0],
          testCheckpoint(key, 'node-a', 21, rootOf([...records.slice(0, 20), testRecord(99)], 21)),
        ],
        root2: rootOf([...records.slice(0, 20), testRecord(99)], 21).toString('hex'),
      }),
    ],
    [
      'checkpoints of two origins',
      /different logs/,
      (b) => ({
        ...b,
        checkpoints: [testCheckpoint(key, 'node-b', 13, rootOf(records, 13)), b.checkpoints[1]],
      }),
    ],
    [
      'one checkpoint',
      /not a consistency bundle/,
      (b) => ({ ...b, checkpoints: [b.checkpoints[0]] }),
    ],
  ])('refuses %s', (_what, reason, mutate) => {
    const result = verifyConsistencyBundle(mutate(consistency()), { verifierKey: key.verifierKey });
    expect(result.ok ? 'accepted' : result.detail).toMatch(reason);
  });
});
