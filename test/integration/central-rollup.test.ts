/**
 * The central store's hourly rollup (`record_hours`) and `connections` table against a real
 * PostgreSQL database, without NATS: rows of three nodes over ~50 hours across two
 * midnights (records exactly on hour boundaries, missing listeners/actions/outcomes,
 * connections reusing client ports, some never closed) are written through the
 * collector's insert in batches, some batches delivered again. Counts and group-bys that
 * the rollup answers must equal a plain COUNT over `records` for windows with whole and
 * partial hours; `who` and `--community-id` through the connections table must equal the
 * answers of the queries over `records` they replaced; and the migration's backfill of an
 * existing store must build exactly what the collector kept.
 */
import { admin } from '../helpers/central.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CentralReader,
  CentralStore,
  type CentralFilter,
  type CentralRow,
} from '../../src/ship/index.js';
import { Params, centralWhere, joinWhere } from '../../src/ship/central-query.js';
import { rollupPlan } from '../../src/ship/central-rollup.js';

const DB = `pw_central_test_rollup_${process.pid}`;
const URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const MS = 1_000_000n;
const MIN = 60_000n * MS;
const HOUR = 60n * MIN;
/** 2030-01-01T22:00:00Z: the data crosses two midnights. */
const T0 = BigInt(Date.UTC(2030, 0, 1, 22)) * MS;
const NODES = ['gw-1', 'gw-2', 'gw-3'];
const LISTENERS = ['orders-db', 'cache', null];
const OUTCOMES = ['success', 'failure', null];

let store: CentralStore;
let reader: CentralReader;
const all: CentralRow[] = [];

/** A deterministic generator (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function row(node: string, sequence: number, timestampNs: bigint, o: Partial<CentralRow>) {
  const r: CentralRow = {
    node,
    sequence,
    timestampNs,
    id: `${node}-${sequence}`,
    action: null,
    outcome: null,
    listener: null,
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
    upstreamCommunityId: null,
    rule: null,
    policyVersion: null,
    dbNamespace: null,
    operation: null,
    statementClass: null,
    status: null,
    module: null,
    text: null,
    body: null,
    leafHash: Buffer.alloc(32, sequence % 251),
    ...o,
  };
  return r;
}

/** One node's records: connections (open, queries, close or not) and stray records. */
function nodeRows(node: string, index: number): CentralRow[] {
  const r = rng(7 + index);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(r() * list.length)] as T;
  const out: CentralRow[] = [];
  // A node's times are `index` ns past a whole ms: no two nodes share one (no ties in who).
  const own = BigInt(index);
  let ts = T0 + BigInt(Math.floor(r() * 30)) * MIN + own;
  const next = (): bigint => {
    // Now and then on an hour boundary (the edge of a rollup hour; exactly, for gw-1).
    ts =
      r() < 0.05
        ? (ts / HOUR + 1n) * HOUR + own
        : ts + BigInt(1 + Math.floor(r() * 9 * 60_000)) * MS;
    return ts;
  };
  for (let k = 0; out.length < 700; k++) {
    const conn = `${node}-c${k}`;
    const listener = pick(LISTENERS);
    const leg = {
      connectionId: conn,
      listener,
      sourceIp: `10.0.0.${k % 4}`,
      sourcePort: 40_000 + (k % 6),
      upstreamLocalIp: '10.9.0.1',
      upstreamLocalPort: 50_000 + (k % 9),
    };
    out.push(
      row(node, out.length, next(), {
        ...leg,
        action: 'connection-open',
        outcome: 'success',
        communityId: `1:cid-${k % 11}`,
        upstreamCommunityId: `1:up-${k % 7}`,
      }),
    );
    const queries = Math.floor(r() * 6);
    for (let q = 0; q < queries; q++)
      out.push(
        row(node, out.length, next(), {
          ...leg,
          action: pick(['db-query', 'redis-command', null]),
          outcome: pick(OUTCOMES),
          text: `select ${q}`,
        }),
      );
    if (r() < 0.85) out.push(row(node, out.length, next(), { ...leg, action: 'connection-close' }));
    if (r() < 0.2) out.push(row(node, out.length, next(), { action: 'policy-reload' }));
  }
  return out;
}

async function write(rows: readonly CentralRow[]): Promise<void> {
  await store.ensurePartitions(rows.map((x) => x.timestampNs));
  await store.transaction(async (tx) => {
    // One statement per node, as the collector writes a batch.
    for (const node of NODES) await tx.insertRecords(rows.filter((x) => x.node === node));
  });
}

async function plainCount(f: CentralFilter): Promise<number> {
  const p = new Params();
  const r = await store.pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM records ${joinWhere(centralWhere(f, p))}`,
    p.values,
  );
  return Number(r.rows[0]?.n);
}

const RECORD_KEYS = {
  hour: "to_char(date_trunc('hour', ts AT TIME ZONE 'UTC'), 'YYYY-MM-DD\"T\"HH24:00:00\"Z\"')",
  node: 'node',
  listener: 'listener',
  action: 'action',
  outcome: 'outcome',
} as const;

async function plainGroups(f: CentralFilter, key: keyof typeof RECORD_KEYS) {
  const p = new Params();
  const r = await store.pool.query<{ k: string | null; n: string }>(
    `SELECT ${RECORD_KEYS[key]} AS k, count(*) AS n FROM records ${joinWhere(centralWhere(f, p))}
     GROUP BY 1 ORDER BY 2 DESC, 1`,
    p.values,
  );
  return r.rows.map((x) => ({ key: x.k ?? '-', count: Number(x.n) }));
}

beforeAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${DB}`);
  store = await CentralStore.open(URL);
  reader = new CentralReader(store);
  const perNode = NODES.map((n, i) => nodeRows(n, i));
  all.push(...perNode.flat());
  // Batches of a few nodes' rows in time order; every third batch delivered twice, and each
  // batch overlapping the previous one by a few rows (redelivery of part of a batch).
  const merged = [...all].sort((a, b) => (a.timestampNs < b.timestampNs ? -1 : 1));
  const r = rng(99);
  let prev: CentralRow[] = [];
  for (let i = 0, b = 0; i < merged.length; b++) {
    const size = 5 + Math.floor(r() * 80);
    const batch = [...prev.slice(-3), ...merged.slice(i, i + size)];
    await write(batch);
    if (b % 3 === 0) await write(batch);
    prev = batch;
    i += size;
  }
}, 60_000);

afterAll(async () => {
  await store?.close();
  await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
});

describe('central hourly rollup', () => {
  const H = (n: number): bigint => T0 + BigInt(n) * HOUR;
  const windows: [string, Partial<CentralFilter>][] = [
    ['everything', {}],
    ['whole hours', { sinceNs: H(3), untilNs: H(27) }],
    ['partial hours at both ends', { sinceNs: H(2) + 17n * MIN + 3n, untilNs: H(30) - 1n }],
    ['1 ns past an hour to 1 ns before one', { sinceNs: H(5) + 1n, untilNs: H(40) - 1n }],
    ['since only, mid-hour', { sinceNs: H(20) + 31n * MIN }],
    ['until only, mid-hour', { untilNs: H(12) + 59n * MIN }],
    ['across a midnight', { sinceNs: H(1) + 1n, untilNs: H(3) + 1n }],
    ['inside one hour', { sinceNs: H(6) + MIN, untilNs: H(6) + 50n * MIN }],
    ['after the data', { sinceNs: H(500) }],
  ];
  const keys: [string, Partial<CentralFilter>][] = [
    ['no key', {}],
    ['node', { node: 'gw-2' }],
    ['listener', { listener: 'orders-db' }],
    ['actions', { actions: ['db-query', 'connection-open'] }],
    ['outcome and node', { outcome: 'failure', node: 'gw-3' }],
    ['an unknown listener', { listener: 'nope' }],
  ];

  it('writes what was generated once, whatever was delivered twice', async () => {
    expect(await plainCount({})).toBe(all.length);
    const r = await store.pool.query<{ n: string }>('SELECT sum(n) AS n FROM record_hours');
    expect(Number(r.rows[0]?.n)).toBe(all.length);
  });

  it('counts equal a plain COUNT over records for whole and partial hours', async () => {
    for (const [wname, w] of windows)
      for (const [kname, k] of keys) {
        const f: CentralFilter = { ...k, ...w };
        if (wname !== 'inside one hour') expect(rollupPlan(f), `${wname}`).not.toBeNull();
        expect(await store.count(f), `${wname}, ${kname}`).toBe(await plainCount(f));
      }
  });

  it('group-bys by hour, node, listener, action and outcome equal a plain GROUP BY', async () => {
    for (const [wname, w] of windows)
      for (const [kname, k] of keys.slice(0, 4))
        for (const key of Object.keys(RECORD_KEYS) as (keyof typeof RECORD_KEYS)[]) {
          const f: CentralFilter = { ...k, ...w };
          expect(await reader.groupBy(f, key, 10_000), `${wname}, ${kname}, by ${key}`).toEqual(
            await plainGroups(f, key),
          );
        }
    // The limit keeps the most first, as the query over records does.
    expect(await reader.groupBy({}, 'hour', 3)).toEqual(
      (await plainGroups({}, 'hour')).slice(0, 3),
    );
  });

  it('leaves a filter it does not hold to the records', async () => {
    expect(rollupPlan({ user: 'x', sinceNs: H(1) })).toBeNull();
    expect(rollupPlan({ text: 'select', sinceNs: H(1) })).toBeNull();
    const f: CentralFilter = { text: 'select 1', sinceNs: H(2) + 5n, listener: 'cache' };
    expect(await store.count(f)).toBe(await plainCount(f));
    expect(await reader.groupBy(f, 'hour', 10_000)).toEqual(await plainGroups(f, 'hour'));
  });
});

describe('central connections table', () => {
  /** The answer of the query over records that `who` used before the connections table. */
  async function whoOverRecords(ip: string, port: number, atNs: bigint): Promise<string> {
    const r = await store.pool.query<{
      node: string;
      seq: string;
      ts_ns: string;
      conn: string;
      leg: string;
    }>(
      `(SELECT node, seq, ts_ns, conn, 'client' AS leg FROM records
         WHERE action = 'connection-open' AND src_ip = $1 AND src_port = $2 AND ts_ns <= $3::bigint
         ORDER BY ts_ns DESC LIMIT 1)
       UNION ALL
       (SELECT node, seq, ts_ns, conn, 'upstream' AS leg FROM records
         WHERE action = 'connection-open' AND up_local_ip = $1 AND up_local_port = $2 AND ts_ns <= $3::bigint
         ORDER BY ts_ns DESC LIMIT 1)
       ORDER BY ts_ns DESC LIMIT 1`,
      [ip, port, atNs.toString()],
    );
    const open = r.rows[0];
    if (open === undefined) return 'none';
    const c = await store.pool.query<{ seq: string; ts_ns: string }>(
      `SELECT seq, ts_ns FROM records WHERE action = 'connection-close' AND conn = $1 AND node = $2
         AND ts_ns >= $3::bigint`,
      [open.conn, open.node, open.ts_ns],
    );
    const close = c.rows[0];
    if (close !== undefined && BigInt(close.ts_ns) < atNs) return 'none';
    return `${open.leg} ${open.node}:${open.seq} close ${close?.seq ?? '-'}`;
  }

  it('answers who on either leg as the query over records did', async () => {
    const opens = all.filter((x) => x.action === 'connection-open');
    const asked = new Set<string>();
    let found = 0;
    for (const o of opens.filter((_, i) => i % 3 === 0)) {
      for (const [ip, port] of [
        [o.sourceIp, o.sourcePort],
        [o.upstreamLocalIp, o.upstreamLocalPort],
      ] as const) {
        for (const at of [o.timestampNs - 1n, o.timestampNs, o.timestampNs + 4n * MIN]) {
          const got = await store.connectionAt(ip ?? '', port ?? 0, at);
          const text =
            got === null
              ? 'none'
              : `${got.leg} ${got.open.node}:${got.open.sequence} close ${got.close?.sequence ?? '-'}`;
          expect(text, `${ip}:${port} at ${at}`).toBe(
            await whoOverRecords(ip ?? '', port ?? 0, at),
          );
          asked.add(text);
          if (got !== null) {
            found++;
            expect(got.open.action).toBe('connection-open');
            if (got.close !== null) expect(got.close.action).toBe('connection-close');
          }
        }
      }
    }
    expect(found).toBeGreaterThan(100);
    expect([...asked].some((x) => x.startsWith('upstream'))).toBe(true);
    expect([...asked].some((x) => x.endsWith('close -'))).toBe(true);
    expect(await store.connectionAt('10.0.0.1', 40_001, T0 - 1n)).toBeNull();
  });

  it('answers --community-id as the query over records did, pages and counts included', async () => {
    for (const id of ['1:cid-0', '1:cid-5', '1:up-3', '1:none']) {
      for (const f of [
        { communityId: id },
        { communityId: id, node: 'gw-1', actions: ['db-query'] },
      ]) {
        const p = new Params();
        const want = await store.pool.query<{ node: string; seq: string }>(
          `SELECT node, seq FROM records ${joinWhere(centralWhere(f, p))}
           ORDER BY ts_ns DESC, node DESC, seq DESC`,
          p.values,
        );
        const got: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.searchPage({ ...f, limit: 37, ...(after ? { after } : {}) });
          got.push(...page.rows.map((x) => `${x.node}:${x.sequence}`));
          if (page.next === null) break;
          after = page.next;
        }
        expect(got).toEqual(want.rows.map((x) => `${x.node}:${x.seq}`));
        expect(await store.count(f)).toBe(want.rows.length);
        if (id !== '1:none' && f.node === undefined) expect(got.length).toBeGreaterThan(20);
      }
    }
  });
});

describe('central text pages', () => {
  it('reads day partitions newest (or oldest) first and pages exactly as one query over records', async () => {
    // Rows whose words are too long for a tsvector have words and no tsv: found by LIKE.
    const u = await store.pool.query(
      "UPDATE records SET tsv = NULL WHERE text = 'select 2' AND seq % 4 = 0",
    );
    expect(u.rowCount).toBeGreaterThan(10);
    const H = (n: number): bigint => T0 + BigInt(n) * HOUR;
    const filters: CentralFilter[] = [
      { text: 'select 2' },
      { text: 'select 2', order: 'oldest' },
      { text: 'SELECT 2', listener: 'cache' },
      { text: 'select', node: 'gw-2', sinceNs: H(10) + 5n, untilNs: H(40) },
      { text: 'select 3', order: 'oldest', untilNs: H(26) },
      { text: 'sel*', actions: ['redis-command'] },
      { text: 'select 9' },
    ];
    for (const f of filters) {
      const p = new Params();
      const dir = f.order === 'oldest' ? 'ASC' : 'DESC';
      const want = await store.pool.query<{ node: string; seq: string }>(
        `SELECT node, seq FROM records ${joinWhere(centralWhere(f, p))}
         ORDER BY ts_ns ${dir}, node ${dir}, seq ${dir}`,
        p.values,
      );
      for (const size of [7, 10_000]) {
        const got: string[] = [];
        let after: string | undefined;
        for (;;) {
          const page = await store.searchPage({ ...f, limit: size, ...(after ? { after } : {}) });
          got.push(...page.rows.map((x) => `${x.node}:${x.sequence}`));
          if (page.next === null) break;
          after = page.next;
        }
        expect(got, `${f.text} ${f.order ?? ''} ${f.listener ?? ''} by ${size}`).toEqual(
          want.rows.map((x) => `${x.node}:${x.seq}`),
        );
      }
      if (f.text !== 'select 9') expect(want.rows.length).toBeGreaterThan(20);
    }
  });
});

describe('migration 3 on an existing store', () => {
  it('backfills the rollup and the connections exactly as the collector kept them', async () => {
    const snapshot = async () => ({
      hours: (
        await store.pool.query(
          'SELECT hour, node, listener, action, outcome, n FROM record_hours ORDER BY 1, 2, 3, 4, 5',
        )
      ).rows,
      conns: (await store.pool.query('SELECT * FROM connections ORDER BY node, conn')).rows,
    });
    const kept = await snapshot();
    expect(kept.conns.length).toBeGreaterThan(300);
    await store.pool.query(
      'DROP TABLE record_hours, connections; DELETE FROM schema_migrations WHERE version = 3',
    );
    const again = await CentralStore.open(URL, { max: 1 });
    await again.close();
    expect(await snapshot()).toEqual(kept);
  });
});
