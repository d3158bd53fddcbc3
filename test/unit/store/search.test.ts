import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/audit/canonical.js';
import { type EventFilter, SqliteStore, summarize } from '../../../src/store/index.js';
import { Recorder } from '../../../src/audit/recorder.js';
import { C6, buildDataset, context, type Dataset } from './dataset.js';

let ds: Dataset;
beforeAll(() => {
  ds = buildDataset();
});
afterAll(() => ds.store.close());

const seqs = (f: EventFilter): number[] =>
  ds.store.search({ order: 'oldest', limit: 1000, ...f }).rows.map((r) => r.sequence);

describe('every filter against the generated data set', () => {
  const cases: [string, EventFilter, number[]][] = [
    ['listener', { listener: 'cache' }, [7, 8, 9, 10]],
    ['one action', { actions: ['db-query'] }, [2, 4, 20, 22]],
    ['two actions', { actions: ['db-query', 'http-request'] }, [2, 4, 12, 14, 20, 22]],
    ['source ip', { sourceIp: '10.0.0.1' }, [0, 1, 2, 3, 4, 5, 6, 18, 21, 22, 23]],
    [
      'source ip:port',
      { sourceIp: '10.0.0.1', sourcePort: 50001 },
      [0, 1, 2, 3, 4, 5, 6, 21, 22, 23],
    ],
    ['upstream local', { upstreamLocalIp: '10.0.0.9', upstreamLocalPort: 40002 }, [7, 8, 9, 10]],
    ['port: upstream local leg', { port: 40002 }, [7, 8, 9, 10]],
    ['port: target leg', { port: 6379 }, [7, 8, 9, 10]],
    ['port: client source leg', { port: 50003 }, [11, 12, 13, 14, 15, 16]],
    ['port + action', { port: 15432, actions: ['db-query'] }, [2, 4, 20, 22]],
    ['user', { user: 'app' }, [1, 2, 4, 20, 22]],
    ['outcome', { outcome: 'failure' }, [4, 5, 9, 10, 14, 15, 17, 18, 23]],
    ['rule', { rule: 'no-delete' }, [4, 14]],
    ['policy version', { policyVersion: 'sha256:v1', listener: 'cache' }, [7, 8, 9, 10]],
    ['db namespace', { db: 'orders' }, [1, 2, 4, 20, 22]],
    ['operation, any case', { operation: 'select' }, [2, 20]],
    // The outcome record of a Redis command names the command too.
    ['operation across protocols', { operation: 'GET' }, [8, 9, 12]],
    ['class', { statementClass: 'write' }, [4, 22]],
    ['status: SQLSTATE', { status: '42501' }, [5]],
    ['status: HTTP', { status: '403' }, [15]],
    ['status: Redis error', { status: 'NOPERM' }, [9]],
    ['community id, client leg', { communityId: '1:c2-client' }, [7, 8, 9, 10]],
    ['community id, upstream leg', { communityId: '1:c2-upstream' }, [7, 8, 9, 10]],
    ['community id of a refused connection', { communityId: '1:c4-client' }, [17]],
    ['connection', { connectionId: 'c1' }, [0, 1, 2, 3, 4, 5, 6]],
    ['node', { node: 'node-a', actions: ['checkpoint'] }, [24]],
    ['text: words split on _', { text: 'order_items' }, [4]],
    ['text: word', { text: 'orders' }, [2, 12, 14, 22]],
    ['text: phrase', { text: 'delete from' }, [4]],
    ['text: phrase order matters', { text: 'from delete' }, []],
    ['text: case ignored', { text: 'FROM ORDERS' }, [2]],
    ['text: prefix', { text: 'pg_sl*' }, [20]],
    ['text: path', { text: 'v1 orders 7' }, [14]],
    ['text + listener', { text: 'orders', listener: 'api' }, [12, 14]],
    [
      'text + two actions',
      { text: 'orders', actions: ['db-query', 'http-request'] },
      [2, 14, 12, 22].sort((a, b) => a - b),
    ],
    ['text: a digit is a word', { text: ':1' }, [2, 8, 20, 22]],
    ['text without words: substring', { text: '= $' }, [2]],
  ];
  for (const [name, filter, expected] of cases) {
    it(`${name}: search and count agree with the known answer`, () => {
      expect(seqs(filter)).toEqual(expected);
      expect(ds.store.count(filter)).toBe(expected.length);
    });
  }

  // The store adds text to the FTS index in batches; until then the newest records are
  // matched in memory. Both paths, and a split between them, give the same answers.
  it('text filters give the same answers from the FTS index, the in-memory tail and both', () => {
    const textCases = cases.filter(([, f]) => f.text !== undefined);
    const answers = (d: Dataset) =>
      textCases.map(([, f]) => [
        d.store.search({ order: 'oldest', limit: 1000, ...f }).rows.map((r) => r.sequence),
        d.store.search({ order: 'newest', limit: 2, ...f }).rows.map((r) => r.sequence),
        d.store.count(f),
        d.store.groupBy(f, 'listener'),
      ]);
    const tailOnly = buildDataset();
    const indexed = buildDataset();
    indexed.store.indexNow();
    const expected = textCases.map(([, , e]) => e);
    expect(answers(tailOnly).map((a) => a[0])).toEqual(expected);
    expect(answers(indexed)).toEqual(answers(tailOnly));
    expect(indexed.store.explain({ text: 'orders' }).join(' ')).toContain('VIRTUAL TABLE INDEX');
    tailOnly.store.close();
    indexed.store.close();
  });

  it('a page that spans the indexed records and the newer tail', () => {
    const d = buildDataset();
    d.store.indexNow();
    const rec = new Recorder(d.store, { mode: 'async', flushMs: 1000, observer: 'node-a' });
    rec.append(
      {
        event: { action: 'db-query', category: ['database'], type: ['access'] },
        db: { query: { text: 'SELECT 1 FROM orders' } },
      },
      context(C6),
    );
    rec.flush();
    const newest = d.store.search({ text: 'orders', limit: 3 });
    expect(newest.rows.map((r) => r.sequence)).toEqual([25, 22, 14]);
    expect(
      d.store
        .search({ text: 'orders', limit: 3, after: newest.next ?? 0 })
        .rows.map((r) => r.sequence),
    ).toEqual([12, 2]);
    expect(
      d.store.search({ text: 'orders', order: 'oldest', after: 20 }).rows.map((r) => r.sequence),
    ).toEqual([22, 25]);
    expect(d.store.count({ text: 'orders' })).toBe(5);
    d.store.close();
  });

  it('time windows (since inclusive, until exclusive) and counts of a bare window', () => {
    expect(ds.store.count({})).toBe(ds.total);
    expect(ds.store.count({ untilNs: ds.afterC1 })).toBe(7);
    expect(ds.store.count({ sinceNs: ds.afterC1 })).toBe(ds.total - 7);
    expect(seqs({ sinceNs: ds.duringC1, untilNs: ds.betweenPhases })).toEqual([6, 7, 8, 9, 10]);
    expect(seqs({ sinceNs: ds.afterC1, listener: 'orders-db', actions: ['db-query'] })).toEqual([
      20, 22,
    ]);
    expect(ds.store.count({ sinceNs: ds.betweenPhases + 10n ** 15n })).toBe(0);
  });
});

describe('keyset pagination', () => {
  it('pages newest first to the end without offsets', () => {
    const p1 = ds.store.search({ limit: 10 });
    expect(p1.rows.map((r) => r.sequence)).toEqual([24, 23, 22, 21, 20, 19, 18, 17, 16, 15]);
    const p2 = ds.store.search({ limit: 10, after: p1.next ?? -1 });
    expect(p2.rows[0]?.sequence).toBe(14);
    const p3 = ds.store.search({ limit: 10, after: p2.next ?? -1 });
    expect(p3.rows.map((r) => r.sequence)).toEqual([4, 3, 2, 1, 0]);
    expect(p3.next).toBeNull();
  });

  it('pages oldest first, also across OR branches (port of either leg)', () => {
    const all: number[] = [];
    let after: number | undefined;
    for (;;) {
      const page = ds.store.search({
        port: 15432,
        order: 'oldest',
        limit: 4,
        ...(after === undefined ? {} : { after }),
      });
      all.push(...page.rows.map((r) => r.sequence));
      if (page.next === null) break;
      after = page.next;
    }
    expect(all).toEqual([0, 1, 2, 3, 4, 5, 6, 17, 18, 19, 20, 21, 22, 23]);
    const newest = ds.store.search({ port: 15432, limit: 5 });
    expect(newest.rows.map((r) => r.sequence)).toEqual([23, 22, 21, 20, 19]);
    expect(ds.store.search({ port: 15432, limit: 5, after: 19 }).rows[0]?.sequence).toBe(18);
  });
});

describe('group-by and summary', () => {
  it('groups by listener, action, source, rule, status and operation', () => {
    expect(ds.store.groupBy({}, 'listener')).toEqual([
      { key: 'orders-db', count: 14 },
      { key: 'api', count: 6 },
      { key: 'cache', count: 4 },
      { key: '-', count: 1 },
    ]);
    expect(ds.store.groupBy({ actions: ['db-query'] }, 'user')).toEqual([{ key: 'app', count: 4 }]);
    expect(ds.store.groupBy({ rule: 'no-delete' }, 'action')).toEqual([
      { key: 'db-query', count: 1 },
      { key: 'http-request', count: 1 },
    ]);
    expect(ds.store.groupBy({ actions: ['db-result', 'http-response'] }, 'status')).toEqual([
      { key: '00000', count: 1 },
      { key: '200', count: 1 },
      { key: '403', count: 1 },
      { key: '42501', count: 1 },
    ]);
    expect(ds.store.groupBy({ listener: 'cache' }, 'source')).toEqual([
      { key: '10.0.0.2', count: 4 },
    ]);
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
});

describe('correlation', () => {
  it('who: the client leg and the upstream leg of a connection, and port reuse', () => {
    const client = ds.store.connectionAt('10.0.0.1', 50001, ds.duringC1);
    expect(client?.leg).toBe('client');
    expect(client?.open.connectionId).toBe('c1');
    expect(client?.close?.sequence).toBe(6);
    const upstream = ds.store.connectionAt('10.0.0.9', 40001, ds.duringC1);
    expect(upstream?.leg).toBe('upstream');
    expect(upstream?.open.connectionId).toBe('c1');
    // Between C1's close and C7's open nobody held 10.0.0.1:50001.
    expect(ds.store.connectionAt('10.0.0.1', 50001, ds.afterC1)).toBeNull();
    const c7open = ds.store.getBySequence(21);
    expect(c7open).toBeDefined();
    const later = ds.store.connectionAt('10.0.0.1', 50001, (c7open?.timestampNs ?? 0n) + 1n);
    expect(later?.open.connectionId).toBe('c7');
    const stillOpen = ds.store.connectionAt(
      '10.0.0.6',
      50006,
      BigInt(Date.now() + 1000) * 1_000_000n,
    );
    expect(stillOpen?.open.connectionId).toBe('c6');
    expect(stillOpen?.close).toBeNull();
  });

  it('a connection’s ends', () => {
    const ends = ds.store.connectionEnds('c2');
    expect(ends.open?.sequence).toBe(7);
    expect(ends.close?.sequence).toBe(10);
    expect(ds.store.connectionEnds('c6').close).toBeNull();
  });

  it('EXPLAIN QUERY PLAN: who and filtered searches use indexes, never a full scan', () => {
    const who = ds.store.explain('who').join('\n');
    expect(who).toContain('events_v3_open_client');
    expect(who).toContain('events_v3_open_upstream');
    expect(who).toContain('events_v3_close_conn');
    const filters: EventFilter[] = [
      { listener: 'orders-db' },
      { user: 'app' },
      { sourceIp: '10.0.0.1', sourcePort: 50001 },
      { connectionId: 'c1' },
      { communityId: '1:c1-client' },
      { rule: 'no-delete' },
      { status: '42501' },
      { statementClass: 'ddl' },
      { text: 'orders' },
      { sinceNs: ds.afterC1, actions: ['db-query'] },
    ];
    for (const f of filters) {
      const plan = ds.store.explain(f);
      expect(
        plan.some((d) => /USING (COVERING )?INDEX|VIRTUAL TABLE INDEX|INTEGER PRIMARY KEY/.test(d)),
        JSON.stringify({ f, plan }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      ).toBe(true);
      expect(
        plan.filter((d) => /^SCAN e$/.test(d)),
        JSON.stringify(plan),
      ).toEqual([]);
    }
  });
});

describe('group by hour', () => {
  it('counts per hour from sequence ranges, with and without a filter', () => {
    const store = new SqliteStore(':memory:');
    const base = 1_700_000_000_000_000_000n - (1_700_000_000_000_000_000n % 3_600_000_000_000n);
    const hour = 3_600_000_000_000n;
    // 3 records in hour 0, none in hour 1, 2 in hour 2 (one on the boundary), 1 in hour 3.
    const times = [
      base + 1n,
      base + 2n,
      base + hour - 1n,
      base + 2n * hour,
      base + 2n * hour + 5n,
      base + 3n * hour + 7n,
    ];
    store.transaction(() => {
      times.forEach((ts, i) => {
        const body = canonicalJson({ event: { action: 'db-query', sequence: i } });
        store.insertEvent({
          sequence: i,
          timestampNs: ts,
          id: `id-${i}`,
          action: 'db-query',
          outcome: 'success',
          listener: i % 2 === 0 ? 'a' : 'b',
          connectionId: null,
          sourceIp: null,
          sourcePort: null,
          destinationIp: null,
          destinationPort: null,
          upstreamLocalIp: null,
          upstreamLocalPort: null,
          upstreamIp: null,
          upstreamPort: null,
          user: null,
          communityId: null,
          text: null,
          body,
          leafHash: createHash('sha256').update(body).digest(),
        });
      });
    });
    const key = (ns: bigint) =>
      `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 13)}:00Z`;
    expect(store.groupBy({}, 'hour')).toEqual([
      { key: key(base), count: 3 },
      { key: key(base + 2n * hour), count: 2 },
      { key: key(base + 3n * hour), count: 1 },
    ]);
    expect(store.groupBy({ listener: 'a' }, 'hour')).toEqual([
      { key: key(base), count: 2 },
      { key: key(base + 2n * hour), count: 1 },
    ]);
    expect(store.groupBy({ sinceNs: base + hour }, 'hour')).toEqual([
      { key: key(base + 2n * hour), count: 2 },
      { key: key(base + 3n * hour), count: 1 },
    ]);
    store.close();
  });
});

describe('schema', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pw-store-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates a v1 store: rows copied with derived columns, text indexed, v1 dropped', () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '1');
      CREATE TABLE events_v1 (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, id TEXT NOT NULL,
        action TEXT NOT NULL, outcome TEXT, listener TEXT, conn TEXT, src_ip TEXT, src_port INTEGER,
        dst_ip TEXT, dst_port INTEGER, up_local_ip TEXT, up_local_port INTEGER, up_ip TEXT,
        up_port INTEGER, user TEXT, community_id TEXT, text TEXT, body TEXT, leaf BLOB NOT NULL);`);
    const body = canonicalJson({
      db: { namespace: 'orders', operation: 'SELECT', query: { class: 'read', text: 'select 1' } },
      event: { action: 'db-query', sequence: 0 },
      observer: { id: 'n1' },
      rule: { id: 'r1' },
      upstream: { community_id: '1:up' },
    });
    db.prepare(
      `INSERT INTO events_v1 VALUES (0, 5, 'id0', 'db-query', 'success', 'db', 'c', '10.0.0.1', 1, NULL, NULL, NULL, NULL, NULL, NULL, 'app', '1:cl', 'select 1', ?, x'00')`,
    ).run(body);
    db.close();
    const store = new SqliteStore(path);
    const row = store.getBySequence(0);
    expect(row).toMatchObject({
      rule: 'r1',
      dbNamespace: 'orders',
      operation: 'SELECT',
      statementClass: 'read',
      node: 'n1',
      upstreamCommunityId: '1:up',
      user: 'app',
    });
    expect(store.count({ text: 'select' })).toBe(1);
    expect(store.getMeta('schema_version')).toBe('3');
    store.close();
    const check = new Database(path, { readonly: true });
    expect(
      check.prepare("SELECT name FROM sqlite_master WHERE name = 'events_v1'").get(),
    ).toBeUndefined();
    check.close();
    const reader = new SqliteStore(path, { readonly: true });
    expect(reader.count({ rule: 'r1' })).toBe(1);
    reader.close();
  });

  it('pruned bodies leave the full-text index too', () => {
    const d = buildDataset();
    expect(d.store.count({ text: 'orders' })).toBe(4);
    d.store.pruneBodies(d.afterC1);
    expect(seqsOf(d.store, { text: 'orders' })).toEqual([12, 14, 22]);
    d.store.pruneBodies(BigInt(Date.now() + 60_000) * 1_000_000n);
    expect(d.store.count({ text: 'orders' })).toBe(0);
    expect(d.store.count({ rule: 'no-delete' })).toBe(2);
    d.store.close();
  });
});

function seqsOf(store: SqliteStore, f: EventFilter): number[] {
  return store.search({ order: 'oldest', ...f }).rows.map((r) => r.sequence);
}
