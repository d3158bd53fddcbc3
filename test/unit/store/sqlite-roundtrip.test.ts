import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/audit/canonical.js';
import { Recorder, type RecordContext } from '../../../src/audit/recorder.js';
import { SqliteStore } from '../../../src/store/index.js';

const ctx: RecordContext = {
  fields: {
    listener: { name: 'db', protocol: 'postgres' },
    connection: { id: 'c-1' },
    source: { ip: '10.0.0.5', port: 51234 },
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

let stores: SqliteStore[] = [];
afterEach(() => {
  for (const s of stores) s.close();
  stores = [];
});

function open(): SqliteStore {
  const s = new SqliteStore(':memory:');
  stores.push(s);
  return s;
}

describe('SQLite store through the recorder', () => {
  it('round-trips records with gapless sequences, canonical bodies and leaf hashes', () => {
    const store = open();
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
    rec.append(
      {
        event: { action: 'db-query', category: ['database'], type: ['access'] },
        user: { name: 'app' },
        db: { query: { text: 'select 1' } },
      },
      ctx,
    );
    expect(rec.flush()).toBe(true);
    const rows = [...store.iterate(0)];
    expect(rows.map((r) => r.sequence)).toEqual([0, 1]);
    for (const r of rows) {
      expect(r.body).not.toBeNull();
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
    expect(rows[0]?.upstreamLocalPort).toBe(40522);
    expect(rows[0]?.timestampNs).toBeLessThan(rows[1]?.timestampNs ?? 0n);
  });

  it('searches by every indexed field with keyset pages', () => {
    const store = open();
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
    rec.flush();
    expect(store.count({ actions: ['db-query'] })).toBe(12);
    expect(store.count({ port: 40522 })).toBe(25);
    expect(store.count({ sourceIp: '10.0.0.5', sourcePort: 51234 })).toBe(25);
    expect(store.count({ sourceIp: '10.0.0.6' })).toBe(0);
    const p1 = store.search({ limit: 10 });
    expect(p1.rows.map((r) => r.sequence)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
    const p2 = store.search({ limit: 10, after: p1.next ?? -1 });
    expect(p2.rows[0]?.sequence).toBe(14);
    const p3 = store.search({ limit: 10, after: p2.next ?? -1 });
    expect(p3.rows).toHaveLength(5);
    expect(p3.next).toBeNull();
    const oldest = store.search({ order: 'oldest', limit: 3, after: 20 });
    expect(oldest.rows.map((r) => r.sequence)).toEqual([21, 22, 23]);
  });

  it('continues the sequence and never goes back in time after reopening', () => {
    const dir = `/tmp/pw-store-${process.pid}-${Date.now()}`;
    const s1 = new SqliteStore(`${dir}/a.db`);
    const r1 = new Recorder(s1, { mode: 'strict', flushMs: 10, observer: 'n1' });
    r1.append({ event: { action: 'checkpoint', category: ['configuration'], type: ['info'] } });
    r1.flush();
    const last = s1.lastTimestampNs();
    s1.close();
    const s2 = new SqliteStore(`${dir}/a.db`);
    stores.push(s2);
    const r2 = new Recorder(s2, { mode: 'strict', flushMs: 10, observer: 'n1' });
    const ref = r2.append({
      event: { action: 'checkpoint', category: ['configuration'], type: ['info'] },
    });
    r2.flush();
    expect(ref.sequence).toBe(1);
    expect(s2.getBySequence(1)?.timestampNs).toBeGreaterThan(last);
  });

  it('keeps a batch the store refused and commits it, in order, once the store accepts again', () => {
    const store = open();
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
});
