/**
 * Store conformance, write side: records through the Recorder, the Merkle tree and
 * checkpoints through the Checkpointer, meta, transactions (all or nothing), iterate
 * ranges, read-only readers, pruning, and a reopened store that keeps everything and
 * continues its sequence. Run against every backend (backends.ts).
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/audit/canonical.js';
import { Checkpointer } from '../../../src/audit/checkpointer.js';
import { loadOrCreateNodeKey } from '../../../src/audit/integrity.js';
import { Recorder, type RecordContext } from '../../../src/audit/recorder.js';
import { storeLogSource } from '../../../src/audit/store-log.js';
import { MerkleTree } from '../../../src/audit/tree.js';
import { verifyLog } from '../../../src/audit/verify.js';
import type { EventRow, Store } from '../../../src/store/index.js';
import { eventRow } from '../../helpers/event-row.js';
import { backends } from './backends.js';

// As the gateway builds one (tuple-context.ts): the fields state every column.
const ctx: RecordContext = {
  fields: {
    listener: { name: 'db', protocol: 'postgres' },
    connection: { id: 'c-1' },
    source: { ip: '10.0.0.5', port: 51234 },
    destination: { ip: '10.0.0.9', port: 15432 },
    upstream: { local: { ip: '10.0.0.9', port: 40522 }, ip: '10.0.1.1', port: 5432 },
    network: { transport: 'tcp', protocol: 'postgresql', community_id: '1:abc' },
  },
  listener: 'db',
  connectionId: 'c-1',
  sourceIp: '10.0.0.5',
  sourcePort: 51234,
  destinationIp: '10.0.0.9',
  destinationPort: 15432,
  upstreamLocalIp: '10.0.0.9',
  upstreamLocalPort: 40522,
  upstreamIp: '10.0.1.1',
  upstreamPort: 5432,
  communityId: '1:abc',
  user: null,
};

const query = (text: string) => ({
  event: { action: 'db-query' as const, category: ['database'], type: ['access'] },
  user: { name: 'app' },
  db: { query: { text } },
});

const b = backends('clog');
const dirs: string[] = [];
afterAll(async () => {
  await b.cleanup();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pw-clog-'));
  dirs.push(d);
  return d;
}

describe.each(b.list)('$name store', (backend) => {
  it('an empty store', () => {
    const s = backend.fresh();
    expect(s.nextSequence()).toBe(0);
    expect(s.lastTimestampNs()).toBe(0n);
    expect([...s.iterate(0)]).toEqual([]);
    expect(s.search({})).toEqual({ rows: [], next: null });
    expect(s.count({})).toBe(0);
    expect(s.groupBy({}, 'listener')).toEqual([]);
    expect(s.checkpoints()).toEqual([]);
    expect(s.latestCheckpoint()).toBeUndefined();
    expect(s.getNode(0, 0)).toBeUndefined();
    expect(s.pruneBodies(BigInt(Date.now()) * 1_000_000n)).toBeNull();
    expect(s.kind).toBe(backend.name);
  });

  it('round-trips records through the recorder: gapless sequences, canonical bodies, leaf hashes', () => {
    const store = backend.fresh();
    const rec = new Recorder(store, { mode: 'strict', flushMs: 10, observer: 'n1' });
    rec.append(
      {
        event: {
          action: 'connection-open',
          category: ['network'],
          type: ['connection', 'start'],
          outcome: 'success',
        },
      },
      ctx,
    );
    rec.append(query('select 1'), ctx);
    expect(rec.flush()).toBe(true);
    const rows = [...store.iterate(0)];
    expect(rows.map((r) => r.sequence)).toEqual([0, 1]);
    for (const r of rows) {
      const body = JSON.parse(r.body ?? '{}') as Record<string, unknown>;
      expect(canonicalJson(body)).toBe(r.body);
      expect(
        r.leafHash.equals(
          createHash('sha256')
            .update(Buffer.from([0]))
            .update(r.body ?? '')
            .digest(),
        ),
      ).toBe(true);
    }
    expect(rows[1]?.user).toBe('app');
    expect(rows[1]?.text).toBe('select 1');
    expect(rows[1]?.node).toBe('n1');
    expect(rows[0]?.upstreamLocalPort).toBe(40522);
    expect(rows[0]?.timestampNs).toBeLessThan(rows[1]?.timestampNs ?? 0n);
    expect(store.lastTimestampNs()).toBe(rows[1]?.timestampNs);
    expect(store.getById(rows[1]?.id ?? '')?.sequence).toBe(1);
  });

  it('keyset pages over 25 records, newest and oldest first', () => {
    const store = backend.fresh();
    const rec = new Recorder(store, { mode: 'async', flushMs: 10, observer: 'n1' });
    for (let i = 0; i < 25; i++)
      rec.append(
        {
          event: {
            action: i % 2 ? 'db-query' : 'db-result',
            category: ['database'],
            type: ['access'],
          },
        },
        ctx,
      );
    expect(rec.flush()).toBe(true);
    expect(store.count({ actions: ['db-query'] })).toBe(12);
    expect(store.count({ port: 40522 })).toBe(25);
    const p1 = store.search({ limit: 10 });
    expect(p1.rows.map((r) => r.sequence)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
    const p2 = store.search({ limit: 10, after: p1.next ?? -1 });
    expect(p2.rows[0]?.sequence).toBe(14);
    const p3 = store.search({ limit: 10, after: p2.next ?? -1 });
    expect(p3.rows.map((r) => r.sequence)).toEqual([4, 3, 2, 1, 0]);
    expect(p3.next).toBeNull();
    const o1 = store.search({ order: 'oldest', limit: 10, actions: ['db-query'] });
    expect(o1.rows.map((r) => r.sequence)).toEqual([1, 3, 5, 7, 9, 11, 13, 15, 17, 19]);
    const o2 = store.search({ order: 'oldest', limit: 10, actions: ['db-query'], after: 19 });
    expect(o2.rows.map((r) => r.sequence)).toEqual([21, 23]);
    expect(o2.next).toBeNull();
  });

  it('iterate: from, to, past the end, across many pages', () => {
    const store = backend.fresh();
    const t0 = BigInt(Date.now()) * 1_000_000n;
    store.transaction(() => {
      for (let i = 0; i < 4500; i++) store.insertEvent(eventRow(i, t0 + BigInt(i)));
    });
    const seqs = (it: Iterable<EventRow>) => [...it].map((r) => r.sequence);
    expect(seqs(store.iterate())).toHaveLength(4500);
    expect(seqs(store.iterate(4498))).toEqual([4498, 4499]);
    expect(seqs(store.iterate(5, 9))).toEqual([5, 6, 7, 8]);
    expect(seqs(store.iterate(4500))).toEqual([]);
    expect(seqs(store.iterate(7, 7))).toEqual([]);
    const middle = seqs(store.iterate(100, 4400));
    expect(middle).toHaveLength(4300);
    expect(middle.every((s, i) => s === 100 + i)).toBe(true);
    // Stopping early is fine (verify releases its iterators).
    const it = store.iterate(0);
    const first = it.next();
    expect(first.done ? null : first.value.sequence).toBe(0);
    it.return?.();
    expect(store.nextSequence()).toBe(4500);
  });

  it('a transaction is all or nothing: records, tree nodes and meta', () => {
    const store = backend.fresh();
    const t0 = BigInt(Date.now()) * 1_000_000n;
    expect(() =>
      store.transaction(() => {
        store.insertEvent(eventRow(0, t0));
        store.putNode(4, 0, Buffer.alloc(32, 1));
        store.setMeta('k', 'v');
        throw new Error('abandon');
      }),
    ).toThrow('abandon');
    expect(store.nextSequence()).toBe(0);
    expect(store.getNode(4, 0)).toBeUndefined();
    expect(store.getMeta('k')).toBeUndefined();
    store.transaction(() => {
      store.insertEvent(eventRow(0, t0));
      store.insertEvent(eventRow(1, t0 + 1n));
      store.putNode(4, 0, Buffer.alloc(32, 1));
      store.setMeta('k', 'v');
      // What the transaction wrote to the tree and meta is visible inside it.
      expect(store.getNode(4, 0)).toEqual(Buffer.alloc(32, 1));
      expect(store.getMeta('k')).toBe('v');
    });
    expect(store.nextSequence()).toBe(2);
    expect(store.getNode(4, 0)).toEqual(Buffer.alloc(32, 1));
    expect(store.getMeta('k')).toBe('v');
  });

  it('tree nodes and meta, inside and outside transactions, replaced in place', () => {
    const store = backend.fresh();
    store.putNode(6, 7, Buffer.alloc(32, 7));
    store.putNode(4, 2 ** 40, Buffer.alloc(32, 9));
    expect(store.getNode(6, 7)).toEqual(Buffer.alloc(32, 7));
    expect(store.getNode(4, 2 ** 40)).toEqual(Buffer.alloc(32, 9));
    expect(store.getNode(6, 8)).toBeUndefined();
    store.putNode(6, 7, Buffer.alloc(32, 8));
    expect(store.getNode(6, 7)).toEqual(Buffer.alloc(32, 8));
    expect(store.getMeta('a')).toBeUndefined();
    store.setMeta('a', '1');
    store.setMeta('a', '2');
    store.transaction(() => store.setMeta('b', 'x'.repeat(10_000)));
    expect(store.getMeta('a')).toBe('2');
    expect(store.getMeta('b')).toHaveLength(10_000);
  });

  it('checkpoints: ordered by size, the latest, one per size', () => {
    const store = backend.fresh();
    const cp = (size: number, fill: number) => ({
      size,
      timestampNs: BigInt(size) * 1000n,
      root: Buffer.alloc(32, fill),
      note: `note ${size}/${fill}\n`,
    });
    store.insertCheckpoint(cp(10, 1));
    store.transaction(() => store.insertCheckpoint(cp(3, 2)));
    store.insertCheckpoint(cp(25, 3));
    expect(store.checkpoints().map((c) => c.size)).toEqual([3, 10, 25]);
    expect(store.latestCheckpoint()).toEqual(cp(25, 3));
    store.insertCheckpoint(cp(10, 4));
    expect(store.checkpoints()).toEqual([cp(3, 2), cp(10, 4), cp(25, 3)]);
  });

  it('the Merkle log: checkpointer and recorder write it, verify reads it, reopening keeps it', () => {
    const dir = dataDir();
    const key = loadOrCreateNodeKey(dir, 'n1');
    let store = backend.fresh();
    const write = (s: Store, n: number) => {
      const cp = new Checkpointer(s, key, 'n1', dir);
      const rec = new Recorder(s, {
        mode: 'async',
        flushMs: 1000,
        observer: 'n1',
        tree: cp,
      });
      cp.attach(rec);
      for (let i = 0; i < n; i++) rec.append(query(`select ${i}`), ctx);
      expect(cp.checkpointNow()).not.toBeNull();
      expect(rec.close()).toBe(true);
      return cp.merkleTree.root();
    };
    const verify = (s: Store) =>
      verifyLog(storeLogSource(s), { verifierKeys: [key.verifierKey], origin: 'n1' });
    const root1 = write(store, 37);
    expect(verify(store)).toMatchObject({ ok: true, size: 38, checkpoints: 1 });
    // Level 0 of the tree is each record's own leaf hash (stored or answered from the record).
    for (const r of store.iterate(0, 38)) expect(store.getNode(0, r.sequence)).toEqual(r.leafHash);
    expect(store.getNode(0, 38)).toBeUndefined();
    // A backend's optional leaf-only reader (verify's) gives what iterate gives.
    const leaves = (store as { iterateLeaves?: (from: number) => Iterable<unknown> }).iterateLeaves;
    if (leaves !== undefined) {
      expect([...leaves.call(store, 5)]).toEqual(
        [...store.iterate(5)].map((r) => ({
          sequence: r.sequence,
          body: r.body,
          leafHash: r.leafHash,
        })),
      );
    }
    store = backend.reopen(store);
    expect(new MerkleTree(store, store.nextSequence()).root()).toEqual(root1);
    const before = store.lastTimestampNs();
    write(store, 20);
    expect(store.nextSequence()).toBe(59);
    expect(store.getBySequence(38)?.timestampNs).toBeGreaterThan(before);
    expect(verify(store)).toMatchObject({ ok: true, size: 59, checkpoints: 2 });
    expect(
      verifyLog(storeLogSource(store), {
        verifierKeys: [key.verifierKey],
        origin: 'n1',
        fromCheckpoint: 1,
      }),
    ).toMatchObject({ ok: true, size: 59 });
  });

  it('reopening keeps records, meta, checkpoints and the sequence', () => {
    let store = backend.fresh();
    const r1 = new Recorder(store, { mode: 'strict', flushMs: 10, observer: 'n1' });
    r1.append(query('select reopened'), ctx);
    expect(r1.flush()).toBe(true);
    store.setMeta('m', 'kept');
    store.insertCheckpoint({ size: 1, timestampNs: 5n, root: Buffer.alloc(32), note: 'n\n' });
    const last = store.lastTimestampNs();
    store = backend.reopen(store);
    expect(store.nextSequence()).toBe(1);
    expect(store.getMeta('m')).toBe('kept');
    expect(store.latestCheckpoint()?.size).toBe(1);
    expect(store.count({ text: 'reopened' })).toBe(1);
    const r2 = new Recorder(store, { mode: 'strict', flushMs: 10, observer: 'n1' });
    const ref = r2.append(query('select 2'), ctx);
    expect(r2.flush()).toBe(true);
    expect(ref.sequence).toBe(1);
    expect(store.getBySequence(1)?.timestampNs).toBeGreaterThan(last);
  });

  it('a read-only reader sees what the writer committed and writes nothing', () => {
    const store = backend.fresh();
    const rec = new Recorder(store, { mode: 'strict', flushMs: 10, observer: 'n1' });
    rec.append(query('select 1'), ctx);
    expect(rec.flush()).toBe(true);
    const reader = backend.reopen(store, { readonly: true });
    expect(reader.count({})).toBe(1);
    rec.append(query('select 2'), ctx);
    expect(rec.flush()).toBe(true);
    expect(reader.search({ text: 'select 2' }).rows.map((r) => r.sequence)).toEqual([1]);
    expect(() => reader.setMeta('x', 'y')).toThrow();
    expect(() => reader.insertEvent(eventRow(2, BigInt(Date.now()) * 1_000_000n))).toThrow();
    expect(store.nextSequence()).toBe(2);
  });

  it('keeps a batch the store refused and commits it, in order, once the store accepts again', () => {
    const store = backend.fresh();
    let fail = true;
    const flaky = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'transaction') {
          return (fn: () => void) => {
            if (fail) throw new Error('SQLITE_FULL: database or disk is full');
            target.transaction(fn);
          };
        }
        const v: unknown = Reflect.get(target, prop, receiver);
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    const rec = new Recorder(flaky, { mode: 'strict', flushMs: 10, observer: 'n1' });
    const health: boolean[] = [];
    rec.onHealth((h) => health.push(h));
    rec.append({ event: { action: 'db-query', category: ['database'], type: ['access'] } });
    expect(rec.flush()).toBe(false);
    expect(rec.isHealthy()).toBe(false);
    rec.append({ event: { action: 'db-result', category: ['database'], type: ['access'] } });
    fail = false;
    expect(rec.flush()).toBe(true);
    expect([...store.iterate(0)].map((r) => [r.sequence, r.action])).toEqual([
      [0, 'db-query'],
      [1, 'db-result'],
    ]);
    expect(health).toEqual([false, true]);
    rec.close();
  });

  it('hostile text: NUL, a flood of distinct words, very long words, other scripts', () => {
    const store = backend.fresh();
    const rec = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'n1' });
    const flood = Array.from({ length: 60_000 }, (_, i) => `w${i.toString(36)}x`).join(' ');
    const long = 'a'.repeat(5000);
    rec.append(query('select \0 from nul_table'), ctx);
    rec.append(query(`${flood} needle`), ctx);
    rec.append(query(`select ${long}b from t`), ctx);
    rec.append(query('SELECT * FROM café WHERE ключ = 1'), ctx);
    expect(rec.flush()).toBe(true);
    const found = (text: string) =>
      store.search({ text, order: 'oldest' }).rows.map((r) => r.sequence);
    expect(found('nul_table')).toEqual([0]);
    expect(found('w0x w1x')).toEqual([1]);
    expect(found(`w${(59_999).toString(36)}x needle`)).toEqual([1]);
    expect(found(`${long}b`)).toEqual([2]);
    expect(found(`${long}*`)).toEqual([2]);
    expect(found(`${long}c`)).toEqual([]);
    expect(found('cafe where')).toEqual([3]);
    expect(found('КЛЮЧ')).toEqual([3]);
    // Bodies are stored as written: the log still verifies.
    expect(JSON.parse(store.getBySequence(0)?.body ?? '{}')).toMatchObject({
      db: { query: { text: 'select \0 from nul_table' } },
    });
  });
});
