import { describe, expect, it } from 'vitest';
import { MemoryNodeStore, MerkleTree, verifyLog } from '../../../src/audit/integrity.js';
import type { LogRecord, LogSource, VerifyOptions } from '../../../src/audit/integrity.js';
import { naiveLeaf } from '../../helpers/audit-naive-merkle.js';
import {
  rootOf,
  testBody,
  testCheckpoint,
  testKey,
  testLog,
  testRecord,
} from '../../helpers/audit-log.js';
import type { TestLog } from '../../helpers/audit-log.js';

const key = testKey('node-a', 1);
const stranger = testKey('node-a', 2);
const options: VerifyOptions = { verifierKeys: [key.verifierKey], origin: 'node-a' };
const SIZES = [0, 10, 20, 20, 37, 50];

function sourceOf(log: TestLog, nodes?: MemoryNodeStore): LogSource & { read: number } {
  const source = {
    read: 0,
    size: () => log.size ?? log.records.length,
    *records(from: number): Iterable<LogRecord> {
      for (const r of log.records.slice(from)) {
        source.read++;
        yield r;
      }
    },
    checkpoints: () => log.checkpoints,
    ...(nodes === undefined ? {} : { getNode: (l: number, i: number) => nodes.getNode(l, i) }),
  };
  return source;
}

const fresh = (): TestLog => testLog(50, SIZES, key);

describe('verifyLog on a sound log', () => {
  it('verifies every record and checkpoint', () => {
    const progress: [number, number][] = [];
    const result = verifyLog(sourceOf(fresh()), {
      ...options,
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(result).toEqual({ ok: true, size: 50, checkpoints: 6, pruned: null });
    expect(progress.at(-1)).toEqual([50, 50]);
  });

  it('accepts pruned bodies whose leaf hashes remain, and reports the range', () => {
    const log = fresh();
    for (let i = 0; i < 12; i++)
      log.records[i] = {
        ...log.records[i],
        sequence: i,
        body: null,
        leafHash: log.records[i]?.leafHash ?? Buffer.alloc(0),
      };
    expect(verifyLog(sourceOf(log), options)).toEqual({
      ok: true,
      size: 50,
      checkpoints: 6,
      pruned: { from: 0, to: 11 },
    });
  });

  it('accepts a body whose strings mimic keys, and a non-canonical key order (slow path)', () => {
    const records = [
      testRecord(0, testBody(0, '"event":{"sequence":7,')),
      testRecord(1, `{"event":{"sequence":1,"action":"x"}}`),
    ];
    const log: TestLog = {
      records,
      checkpoints: [{ note: testCheckpoint(key, 'node-a', 2, rootOf(records, 2)) }],
    };
    expect(verifyLog(sourceOf(log), options)).toMatchObject({ ok: true, size: 2 });
  });
});

describe('verifyLog names each kind of tampering', () => {
  it('edited: a body changed without its leaf hash', () => {
    const log = fresh();
    log.records[13] = { ...testRecord(13), body: testBody(13, 'drop table orders') };
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'edited',
      sequence: 13,
    });
  });

  it('edited: a body without event.sequence', () => {
    const log = fresh();
    log.records[13] = testRecord(13, '{"event":{"action":"db-query"}}');
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'edited',
      sequence: 13,
    });
  });

  it('root-mismatch: a body and its leaf hash changed together, named after the last good checkpoint', () => {
    const log = fresh();
    log.records[13] = testRecord(13, testBody(13, 'drop table orders'));
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'root-mismatch',
      sequence: 10,
    });
  });

  it('root-mismatch: a validly signed checkpoint over another root', () => {
    const log = fresh();
    log.checkpoints[4] = { note: testCheckpoint(key, 'node-a', 37, rootOf(log.records, 36)) };
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'root-mismatch',
      sequence: 20,
    });
  });

  it('inserted: a duplicated sequence', () => {
    const log = fresh();
    log.records.splice(14, 0, testRecord(13));
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'inserted',
      sequence: 14,
    });
  });

  it('inserted: a foreign record slipped in and the stored sequences renumbered', () => {
    const log = fresh();
    log.records.splice(14, 0, testRecord(13));
    log.records.forEach((r, i) => (r.sequence = i));
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'inserted',
      sequence: 14,
    });
  });

  it('deleted: a gap in the stored sequences', () => {
    const log = fresh();
    log.records.splice(13, 1);
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'deleted',
      sequence: 13,
    });
  });

  it('deleted: a record removed and the stored sequences renumbered', () => {
    const log = fresh();
    log.records.splice(13, 1);
    log.records.forEach((r, i) => (r.sequence = i));
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'deleted',
      sequence: 13,
    });
  });

  it('reordered: two rows swapped', () => {
    const log = fresh();
    const [a, b] = [log.records[13], log.records[14]];
    if (a === undefined || b === undefined) throw new Error('fixture');
    log.records[13] = b;
    log.records[14] = a;
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'reordered',
      sequence: 13,
    });
  });

  it('reordered: two bodies and leaves swapped under unchanged sequence numbers', () => {
    const log = fresh();
    const [a, b] = [testRecord(13), testRecord(14)];
    log.records[13] = { ...b, sequence: 13 };
    log.records[14] = { ...a, sequence: 14 };
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'reordered',
      sequence: 13,
    });
  });

  it('truncated: fewer records than the last checkpoint covers', () => {
    const log = fresh();
    log.records.length = 35;
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'truncated',
      sequence: 35,
    });
  });

  it('truncated: fewer records than the store counts, past the last checkpoint', () => {
    const log = fresh();
    log.records.length = 45;
    log.size = 50;
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'truncated',
      sequence: 45,
    });
  });

  it('bad-signature: a checkpoint whose text was changed', () => {
    const log = fresh();
    log.checkpoints[2] = { note: (log.checkpoints[2]?.note ?? '').replace('\n20\n', '\n21\n') };
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'bad-signature',
      sequence: 10,
    });
  });

  it('bad-signature: a checkpoint for another origin', () => {
    const log = testLog(50, SIZES, key, 'node-b');
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'bad-signature',
      sequence: 0,
    });
  });

  it('unknown-key: a checkpoint signed by a key nobody trusts', () => {
    const log = fresh();
    log.checkpoints[4] = { note: testCheckpoint(stranger, 'node-a', 37, rootOf(log.records, 37)) };
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'unknown-key',
      sequence: 20,
    });
  });

  it('reordered: checkpoint sizes that go backwards', () => {
    const log = fresh();
    log.checkpoints.push({ note: testCheckpoint(key, 'node-a', 30, rootOf(log.records, 30)) });
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'reordered',
      sequence: 30,
    });
  });

  it('edited: a malformed stored leaf hash', () => {
    const log = fresh();
    log.records[7] = { ...testRecord(7), leafHash: naiveLeaf(Buffer.from('x')).subarray(1) };
    expect(verifyLog(sourceOf(log), options)).toMatchObject({
      ok: false,
      kind: 'edited',
      sequence: 7,
    });
  });
});

describe('verifyLog from a checkpoint', () => {
  function withNodes(log: TestLog): MemoryNodeStore {
    const nodes = new MemoryNodeStore();
    const tree = new MerkleTree(nodes);
    for (const r of log.records) tree.append(r.leafHash);
    return nodes;
  }

  it('reads only the records after the trusted checkpoint', () => {
    const log = fresh();
    const source = sourceOf(log, withNodes(log));
    expect(verifyLog(source, { ...options, fromCheckpoint: 2 })).toEqual({
      ok: true,
      size: 50,
      checkpoints: 4,
      pruned: null,
    });
    expect(source.read).toBe(30);
  });

  it('still finds tampering after it', () => {
    const log = fresh();
    const nodes = withNodes(log);
    log.records[25] = { ...testRecord(25), body: testBody(25, 'x') };
    expect(verifyLog(sourceOf(log, nodes), { ...options, fromCheckpoint: 2 })).toMatchObject({
      kind: 'edited',
      sequence: 25,
    });
  });

  it('refuses a stored tree that disagrees with the checkpoint', () => {
    const log = fresh();
    const nodes = withNodes(log);
    nodes.putNode(4, 0, Buffer.alloc(32));
    expect(verifyLog(sourceOf(log, nodes), { ...options, fromCheckpoint: 2 })).toMatchObject({
      kind: 'root-mismatch',
      sequence: 0,
    });
  });

  it('needs the stored nodes and an existing checkpoint', () => {
    expect(() => verifyLog(sourceOf(fresh()), { ...options, fromCheckpoint: 1 })).toThrow(
      /tree nodes/,
    );
    const log = fresh();
    expect(() =>
      verifyLog(sourceOf(log, withNodes(log)), { ...options, fromCheckpoint: 6 }),
    ).toThrow(/no checkpoint #6/);
  });
});
