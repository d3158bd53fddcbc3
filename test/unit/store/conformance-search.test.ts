/**
 * Store conformance, read side: every filter, keyset pages in both orders, counts, every
 * group-by key, the summary and the correlation lookups, against the generated data set
 * (dataset.ts) written through the Recorder into each backend (backends.ts). Each backend
 * must give the same, known answers.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/audit/canonical.js';
import {
  type EventFilter,
  type EventRow,
  GROUP_KEYS,
  type GroupKey,
  type Store,
  summarize,
} from '../../../src/store/index.js';
import { eventRow } from '../../helpers/event-row.js';
import { backends } from './backends.js';
import { CASES } from './cases.js';
import { buildDataset, type Dataset } from './dataset.js';
import { expectNewestTextFoundAtOnce } from './newest-text.js';

const HOUR_NS = 3_600_000_000_000n;

function hourKey(ns: bigint): string {
  return `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 13)}:00Z`;
}

/** The group key of a row, as the interface defines it ('-' for none). */
function groupKeyOf(key: GroupKey, r: EventRow): string {
  const v = {
    listener: r.listener,
    user: r.user,
    source: r.sourceIp,
    action: r.action,
    hour: hourKey(r.timestampNs - (r.timestampNs % HOUR_NS)),
    outcome: r.outcome,
    rule: r.rule,
    operation: r.operation,
    status: r.status,
    db: r.dbNamespace,
  }[key];
  return v ?? '-';
}

/** groupBy computed in memory from the rows a filter selects. */
function expectedGroups(rows: readonly EventRow[], key: GroupKey) {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(groupKeyOf(key, r), (counts.get(groupKeyOf(key, r)) ?? 0) + 1);
  const out = [...counts].map(([k, count]) => ({ key: k, count }));
  return key === 'hour'
    ? out.sort((a, b) => (a.key < b.key ? -1 : 1))
    : out.sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}

/** Every page of a search, following `next`. */
function pages(store: Store, f: EventFilter): { seqs: number[]; pageCount: number } {
  const seqs: number[] = [];
  let pageCount = 0;
  let after: number | undefined;
  for (;;) {
    const page = store.search({ ...f, ...(after === undefined ? {} : { after }) });
    pageCount++;
    seqs.push(...page.rows.map((r) => r.sequence));
    if (page.next === null) return { seqs, pageCount };
    expect(page.next).toBe(page.rows[page.rows.length - 1]?.sequence);
    after = page.next;
  }
}

const b = backends('csearch');
afterAll(() => b.cleanup());

describe.each(b.list)('$name store: the generated data set', (backend) => {
  let ds: Dataset<Store>;
  let all: EventRow[];
  beforeAll(() => {
    ds = buildDataset(backend.fresh());
    all = [...ds.store.iterate(0)];
  });

  const seqs = (f: EventFilter): number[] =>
    ds.store.search({ order: 'oldest', limit: 1000, ...f }).rows.map((r) => r.sequence);

  it('holds the whole data set', () => {
    expect(ds.total).toBe(25);
    expect(all.map((r) => r.sequence)).toEqual(CASES[0]?.[2]);
    expect(ds.store.nextSequence()).toBe(25);
    expect(ds.store.lastTimestampNs()).toBe(all[24]?.timestampNs);
  });

  for (const [name, filter, expected] of CASES) {
    it(`${name}: search, count, pages both ways and every group-by agree with the known answer`, () => {
      expect(seqs(filter)).toEqual(expected);
      expect(ds.store.search({ limit: 1000, ...filter }).rows.map((r) => r.sequence)).toEqual(
        [...expected].reverse(),
      );
      expect(ds.store.count(filter)).toBe(expected.length);
      // Keyset pages of 2 in both orders give the same records, each once.
      const oldest = pages(ds.store, { ...filter, order: 'oldest', limit: 2 });
      expect(oldest.seqs).toEqual(expected);
      expect(oldest.pageCount).toBe(Math.max(1, Math.ceil(expected.length / 2)));
      expect(pages(ds.store, { ...filter, order: 'newest', limit: 2 }).seqs).toEqual(
        [...expected].reverse(),
      );
      const rows = all.filter((r) => expected.includes(r.sequence));
      for (const key of GROUP_KEYS) {
        expect(ds.store.groupBy(filter, key), key).toEqual(expectedGroups(rows, key));
      }
    });
  }

  it('a cursor narrows counts and groups as it narrows searches', () => {
    expect(ds.store.count({ after: 10, order: 'oldest' })).toBe(14);
    expect(ds.store.count({ after: 10 })).toBe(10);
    expect(ds.store.count({ listener: 'orders-db', after: 19, order: 'oldest' })).toBe(4);
    expect(ds.store.groupBy({ after: 7 }, 'listener')).toEqual([{ key: 'orders-db', count: 7 }]);
  });

  it('numbers no record can hold match nothing (and fail nothing)', () => {
    expect(ds.store.count({ sourcePort: 50001.5 })).toBe(0);
    expect(ds.store.count({ port: 2 ** 40 })).toBe(0);
    expect(ds.store.count({ upstreamLocalPort: -1 })).toBe(0);
    expect(ds.store.search({ port: 1e300 }).rows).toEqual([]);
  });

  it('limits: at least one row, a page never past the end', () => {
    expect(ds.store.search({ limit: 0 }).rows).toHaveLength(1);
    const last = ds.store.search({ order: 'oldest', after: 23, limit: 5 });
    expect(last.rows.map((r) => r.sequence)).toEqual([24]);
    expect(last.next).toBeNull();
    expect(ds.store.search({ order: 'oldest', after: 24 })).toEqual({ rows: [], next: null });
    expect(ds.store.search({ after: 0 })).toEqual({ rows: [], next: null });
  });

  it('time windows (since inclusive, until exclusive)', () => {
    expect(ds.store.count({ untilNs: ds.afterC1 })).toBe(7);
    expect(ds.store.count({ sinceNs: ds.afterC1 })).toBe(ds.total - 7);
    expect(seqs({ sinceNs: ds.duringC1, untilNs: ds.betweenPhases })).toEqual([6, 7, 8, 9, 10]);
    expect(seqs({ sinceNs: ds.afterC1, listener: 'orders-db', actions: ['db-query'] })).toEqual([
      20, 22,
    ]);
    const at = all[11]?.timestampNs ?? 0n;
    expect(seqs({ sinceNs: at, untilNs: at + 1n })).toEqual([11]);
    expect(seqs({ sinceNs: at, untilNs: at })).toEqual([]);
    expect(ds.store.count({ sinceNs: ds.betweenPhases + 10n ** 15n })).toBe(0);
    expect(ds.store.groupBy({ untilNs: ds.afterC1 }, 'action')).toEqual([
      { key: 'db-query', count: 2 },
      { key: 'db-result', count: 2 },
      { key: 'connection-close', count: 1 },
      { key: 'connection-open', count: 1 },
      { key: 'db-login', count: 1 },
    ]);
  });

  it('rows read back whole: tuple, derived columns, body and leaf', () => {
    const q = ds.store.getBySequence(4);
    expect(q).toMatchObject({
      sequence: 4,
      action: 'db-query',
      outcome: 'failure',
      listener: 'orders-db',
      connectionId: 'c1',
      sourceIp: '10.0.0.1',
      sourcePort: 50001,
      destinationIp: '10.0.0.9',
      destinationPort: 15432,
      upstreamLocalIp: '10.0.0.9',
      upstreamLocalPort: 40001,
      upstreamIp: '10.0.1.1',
      upstreamPort: 5432,
      user: 'app',
      communityId: '1:c1-client',
      upstreamCommunityId: '1:c1-upstream',
      rule: 'no-delete',
      policyVersion: 'sha256:v1',
      dbNamespace: 'orders',
      operation: 'DELETE',
      statementClass: 'write',
      node: 'node-a',
      text: 'DELETE FROM order_items',
    });
    const body = q?.body ?? '';
    expect(canonicalJson(JSON.parse(body) as Record<string, unknown>)).toBe(body);
    expect(
      q?.leafHash.equals(
        createHash('sha256')
          .update(Buffer.from([0]))
          .update(body)
          .digest(),
      ),
    ).toBe(true);
    expect(ds.store.getById(q?.id ?? '')?.sequence).toBe(4);
    expect(ds.store.getById('no-such-id')).toBeUndefined();
    expect(ds.store.getBySequence(25)).toBeUndefined();
    expect(ds.store.getBySequence(-1)).toBeUndefined();
  });

  it('summarizes a window: top talkers, denied counts, sources new in the window', () => {
    const s = summarize(ds.store, { sinceNs: ds.betweenPhases });
    expect(s.total).toBe(ds.total - 11);
    expect(s.topSources[0]).toEqual({ key: '10.0.0.3', count: 6 });
    expect(s.denied.total).toBe(3);
    expect(s.denied.byAction).toEqual([
      { key: 'connection-open', count: 2 },
      { key: 'http-request', count: 1 },
    ]);
    expect(s.newSources.map((n) => n.ip)).toEqual(['10.0.0.3', '10.0.0.4', '10.0.0.6']);
  });

  it('first sequence of a source', () => {
    expect(ds.store.firstSequenceOfSource('10.0.0.1')).toBe(0);
    expect(ds.store.firstSequenceOfSource('10.0.0.3')).toBe(11);
    expect(ds.store.firstSequenceOfSource('10.0.0.4')).toBe(17);
    expect(ds.store.firstSequenceOfSource('10.0.0.6')).toBe(19);
    expect(ds.store.firstSequenceOfSource('192.0.2.1')).toBeNull();
  });

  it('who: the client leg and the upstream leg of a connection, and port reuse', () => {
    const client = ds.store.connectionAt('10.0.0.1', 50001, ds.duringC1);
    expect(client?.leg).toBe('client');
    expect(client?.open.connectionId).toBe('c1');
    expect(client?.close?.sequence).toBe(6);
    const upstream = ds.store.connectionAt('10.0.0.9', 40001, ds.duringC1);
    expect(upstream?.leg).toBe('upstream');
    expect(upstream?.open.sequence).toBe(0);
    expect(upstream?.close?.sequence).toBe(6);
    // Between C1's close and C7's open nobody held 10.0.0.1:50001.
    expect(ds.store.connectionAt('10.0.0.1', 50001, ds.afterC1)).toBeNull();
    const c7open = all[21];
    const later = ds.store.connectionAt('10.0.0.1', 50001, (c7open?.timestampNs ?? 0n) + 1n);
    expect(later?.open.connectionId).toBe('c7');
    expect(later?.close?.sequence).toBe(23);
    // Before anything was recorded nobody held it.
    expect(ds.store.connectionAt('10.0.0.1', 50001, (all[0]?.timestampNs ?? 0n) - 1n)).toBeNull();
    const stillOpen = ds.store.connectionAt(
      '10.0.0.6',
      50006,
      BigInt(Date.now() + 1000) * 1_000_000n,
    );
    expect(stillOpen?.open.connectionId).toBe('c6');
    expect(stillOpen?.close).toBeNull();
    expect(ds.store.connectionAt('10.0.0.9', 40006, ds.betweenPhases * 2n)?.leg).toBe('upstream');
  });

  it('who: a refused connection held its endpoint only at its own instant', () => {
    const refused = all[17];
    const at = refused?.timestampNs ?? 0n;
    const hit = ds.store.connectionAt('10.0.0.4', 50004, at);
    expect(hit?.open.sequence).toBe(17);
    expect(hit?.close).toBeNull();
    expect(ds.store.connectionAt('10.0.0.4', 50004, at + 1n)).toBeNull();
  });

  it('a connection’s ends', () => {
    const ends = ds.store.connectionEnds('c2');
    expect(ends.open?.sequence).toBe(7);
    expect(ends.close?.sequence).toBe(10);
    expect(ends.close?.outcome).toBe('failure');
    expect(ds.store.connectionEnds('c6').open?.sequence).toBe(19);
    expect(ds.store.connectionEnds('c6').close).toBeNull();
    expect(ds.store.connectionEnds('c4')).toMatchObject({ open: { sequence: 17 }, close: null });
    expect(ds.store.connectionEnds('no-such')).toEqual({ open: null, close: null });
  });
});

describe.each(b.list)('$name store: writes after the data set', (backend) => {
  it('a new record is found by text at once, in both orders and across pages', () => {
    expectNewestTextFoundAtOnce(buildDataset(backend.fresh()));
  });

  it('pruned bodies: leaf hashes and indexed columns stay, text and body go', () => {
    const d = buildDataset(backend.fresh());
    expect(d.store.pruneBodies(0n)).toBeNull();
    expect(d.store.pruneBodies(d.afterC1)).toEqual({ from: 0, to: 6, count: 7 });
    expect(d.store.pruneBodies(d.afterC1)).toBeNull();
    expect(d.store.search({ text: 'orders', order: 'oldest' }).rows.map((r) => r.sequence)).toEqual(
      [12, 14, 22],
    );
    const pruned = d.store.getBySequence(4);
    expect(pruned?.body).toBeNull();
    expect(pruned?.text).toBeNull();
    expect(pruned?.leafHash).toHaveLength(32);
    expect(pruned?.rule).toBe('no-delete');
    expect(d.store.pruneBodies(BigInt(Date.now() + 60_000) * 1_000_000n)).toEqual({
      from: 7,
      to: 24,
      count: 18,
    });
    expect(d.store.count({ text: 'orders' })).toBe(0);
    expect(d.store.count({ text: '= $' })).toBe(0);
    expect(d.store.count({ rule: 'no-delete' })).toBe(2);
    expect([...d.store.iterate(0)].every((r) => r.body === null && r.leafHash.length === 32)).toBe(
      true,
    );
  });

  it('groups by hour across hours (and days) with and without a filter', () => {
    const store = backend.fresh();
    const hour = HOUR_NS;
    const base = 1_700_000_000_000_000_000n - (1_700_000_000_000_000_000n % hour);
    // 3 records in hour 0, none in hour 1, 2 in hour 2, 1 in hour 3, 1 a day later.
    const times = [
      base + 1n,
      base + 2n,
      base + hour - 1n,
      base + 2n * hour,
      base + 2n * hour + 5n,
      base + 3n * hour + 7n,
      base + 27n * hour,
    ];
    store.transaction(() => {
      times.forEach((ts, i) =>
        store.insertEvent(eventRow(i, ts, { fields: { listener: i % 2 === 0 ? 'a' : 'b' } })),
      );
    });
    expect(store.groupBy({}, 'hour')).toEqual([
      { key: hourKey(base), count: 3 },
      { key: hourKey(base + 2n * hour), count: 2 },
      { key: hourKey(base + 3n * hour), count: 1 },
      { key: hourKey(base + 27n * hour), count: 1 },
    ]);
    expect(store.groupBy({ listener: 'a' }, 'hour')).toEqual([
      { key: hourKey(base), count: 2 },
      { key: hourKey(base + 2n * hour), count: 1 },
      { key: hourKey(base + 27n * hour), count: 1 },
    ]);
    expect(store.groupBy({ sinceNs: base + hour, untilNs: base + 4n * hour }, 'hour')).toEqual([
      { key: hourKey(base + 2n * hour), count: 2 },
      { key: hourKey(base + 3n * hour), count: 1 },
    ]);
    expect(store.count({ sinceNs: base + 4n * hour })).toBe(1);
    expect(store.lastTimestampNs()).toBe(base + 27n * hour);
  });
});
