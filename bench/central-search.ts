/**
 * Central search at scale: N synthetic records (default 10M) of several nodes (default 3)
 * over 30 days in a fresh PostgreSQL database, loaded as the collector stores them
 * (bench/central-load.ts), then p50/p95 of typical `portwarden central search` queries,
 * `central who`, counts and group-bys through the code the CLI and the central API use
 * (CentralStore.searchPage/count/connectionAt, CentralReader.groupBy), and store bytes per
 * record. Prints a markdown table.
 *
 *   node --import tsx bench/central-search.ts [--rows N] [--nodes 3] [--db NAME] [--keep] [--explain]
 *
 * An existing database with exactly N records over the same nodes and every index is reused
 * (generation takes a long time); it is dropped at the end unless --keep. --explain prints
 * EXPLAIN (ANALYZE, BUFFERS) of the queries of every line that misses its target.
 */
import pg from 'pg';
import { CentralReader, CentralStore, MIGRATIONS, type CentralFilter } from '../src/ship/index.js';
import type { CentralRow } from '../src/ship/central-row.js';
import { bulkLoad, indexCount, nodeName } from './central-load.js';
import { Rng, SOURCES, USERS } from './search-data.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const rows = Number(arg('--rows') ?? 10_000_000);
const nodes = Number(arg('--nodes') ?? 3);
const db = arg('--db') ?? 'pw_central_bench';
const keep = process.argv.includes('--keep');
const explain = process.argv.includes('--explain');
if (!/^[a-z_][a-z0-9_]*$/.test(db)) throw new Error(`--db: a plain database name, got ${db}`);
const SERVER = 'postgres://postgres@127.0.0.1:5432';
const DAY = 86_400_000_000_000n;
const HOUR = 3_600_000_000_000n;
const endWall = BigInt(Date.UTC(2026, 10, 1)) * 1_000_000n;
const startNs = endWall - 30n * DAY;
const expectedIndexes =
  1 + MIGRATIONS.reduce((n, m) => n + (m.sql.match(/CREATE INDEX records_/g) ?? []).length, 0);

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: `${SERVER}/postgres` });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

async function exists(): Promise<boolean> {
  const c = new pg.Client({ connectionString: `${SERVER}/postgres` });
  await c.connect();
  try {
    return (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [db])).rowCount === 1;
  } finally {
    await c.end();
  }
}

/** Whether the database holds exactly this benchmark's records and every index. */
async function reusable(store: CentralStore): Promise<boolean> {
  const r = await store.pool.query<{ node: string; n: string; m: string }>(
    'SELECT node, count(*) AS n, max(seq) AS m FROM records GROUP BY node ORDER BY node',
  );
  const total = r.rows.reduce((n, x) => n + Number(x.n), 0);
  return (
    total === rows &&
    r.rows.length === nodes &&
    r.rows.every((x, i) => x.node === nodeName(i) && Number(x.m) + 1 === Number(x.n)) &&
    (await indexCount(store)) === expectedIndexes
  );
}

const url = `${SERVER}/${db}`;
// Opening a kept database applies the migrations it lacks (with their backfills): timed.
const opening = performance.now();
let store: CentralStore | undefined = (await exists()) ? await CentralStore.open(url) : undefined;
if (store !== undefined)
  console.log(
    `opened ${db} (migrations it lacked included) in ${((performance.now() - opening) / 1000).toFixed(1)} s`,
  );
if (store === undefined || !(await reusable(store))) {
  await store?.close();
  await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
  await admin(`CREATE DATABASE ${db}`);
  store = await CentralStore.open(url, { max: 4 });
  const t0 = performance.now();
  let lastLog = 0;
  const { loadS, indexS } = await bulkLoad(store, {
    rows,
    nodes,
    startNs,
    spanNs: 30n * DAY,
    onProgress: (n) => {
      if (n - lastLog < 500_000) return;
      lastLog = n;
      const s = (performance.now() - t0) / 1000;
      process.stderr.write(`  ${n} rows, ${s.toFixed(0)} s, ${Math.round(n / s)} rows/s\n`);
    },
  });
  console.log(
    `loaded ${rows} records of ${nodes} nodes in ${loadS.toFixed(1)} s (${Math.round(rows / loadS)} rows/s), indexes + vacuum analyze ${indexS.toFixed(1)} s`,
  );
  if (!(await reusable(store)))
    throw new Error('the loaded store does not hold what was generated');
}
const s = store;
const reader = new CentralReader(s);

// Every query the store sends, so a slow line can be explained.
const sent: { text: string; values: unknown[] }[] = [];
const query = s.pool.query.bind(s.pool) as (text: string, values?: unknown[]) => Promise<unknown>;
(s.pool as unknown as { query: typeof query }).query = (text, values) => {
  sent.push({ text, values: values ?? [] });
  return query(text, values);
};

const size = await s.pool.query<{
  records: string;
  database: string;
  hours: string;
  hour_rows: string;
  conns: string;
  conn_rows: string;
}>(
  `SELECT (SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits WHERE inhparent = 'records'::regclass) AS records,
          pg_database_size(current_database()) AS database,
          pg_total_relation_size('record_hours') AS hours, (SELECT count(*) FROM record_hours) AS hour_rows,
          pg_total_relation_size('connections') AS conns, (SELECT count(*) FROM connections) AS conn_rows`,
);
const tableBytes = Number(size.rows[0]?.records ?? 0);
const end = await s.pool.query<{ m: string }>('SELECT max(ts_ns) AS m FROM records');
const endNs = BigInt(end.rows[0]?.m ?? '0');

const rng = new Rng(42);
const sample: CentralRow[] = [];
while (sample.length < 64) {
  const node = nodeName(rng.int(nodes));
  const r = await reader.record(node, rng.int(Math.floor(rows / nodes)));
  if (r !== null) sample.push(r);
}
const at = (i: number): CentralRow => sample[i % sample.length] as CentralRow;
const conns = sample.filter((r) => r.connectionId !== null);
const conn = (i: number): CentralRow => conns[i % conns.length] as CentralRow;
const opens = await s.pool.query<{
  src_ip: string;
  src_port: number;
  up_local_ip: string;
  up_local_port: number;
  ts_ns: string;
}>(
  `SELECT src_ip, src_port, up_local_ip, up_local_port, ts_ns FROM records
   WHERE action = 'connection-open' AND (node, conn) IN (SELECT node, conn FROM unnest($1::text[], $2::text[]) AS u(node, conn))`,
  [conns.map((r) => r.node), conns.map((r) => r.connectionId)],
);
const open = (i: number) => opens.rows[i % opens.rows.length];

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? 0;
}

interface Line {
  readonly name: string;
  readonly runs: number;
  readonly p50: number;
  readonly p95: number;
  readonly target: number | undefined;
  readonly queries: { text: string; values: unknown[] }[];
}
const lines: Line[] = [];

/** One warm-up run, then `runs` timed ones (stops early past a minute for a slow line). */
async function measure(
  name: string,
  target: number | undefined,
  fn: (i: number) => Promise<unknown>,
  runs = 30,
): Promise<void> {
  sent.length = 0;
  await fn(0);
  const queries = [...sent];
  const times: number[] = [];
  const started = performance.now();
  for (let i = 0; i < runs && (times.length < 3 || performance.now() - started < 60_000); i++) {
    const t = performance.now();
    await fn(i + 1);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const line = {
    name,
    runs: times.length,
    p50: percentile(times, 0.5),
    p95: percentile(times, 0.95),
    target,
    queries,
  };
  lines.push(line);
  process.stderr.write(
    `  ${name.padEnd(56)} p50 ${line.p50.toFixed(2).padStart(9)} ms  p95 ${line.p95.toFixed(2).padStart(9)} ms\n`,
  );
}

const SEARCH = 100; // ms, the local search target
const searches: [string, (i: number) => CentralFilter][] = [
  ['newest page, no filter', () => ({})],
  ['`--node gw-2`', () => ({ node: 'gw-2' })],
  ['`--listener orders-db`', () => ({ listener: 'orders-db' })],
  ['`--node gw-3 --listener cache`', () => ({ node: 'gw-3', listener: 'cache' })],
  ['`--user` (varied)', (i) => ({ user: USERS[(i * 7) % USERS.length] ?? 'svc-0' })],
  ['`--source IP` (varied)', (i) => ({ sourceIp: SOURCES[(i * 13) % 500] ?? '10.1.0.0' })],
  [
    '`--source IP:PORT` (from a real record)',
    (i) => ({ sourceIp: at(i).sourceIp ?? '', sourcePort: at(i).sourcePort ?? 0 }),
  ],
  ['`--action db-query --since 1h`', () => ({ actions: ['db-query'], sinceNs: endNs - HOUR })],
  ['`--text "order_items"` (phrase)', () => ({ text: 'order_items' })],
  [
    '`--text "refunds where id" --listener billing-db`',
    () => ({ text: 'refunds where id', listener: 'billing-db' }),
  ],
  ['`--outcome failure`', () => ({ outcome: 'failure' })],
  ['`--outcome failure --listener cache`', () => ({ outcome: 'failure', listener: 'cache' })],
  ['`--class ddl --since 7d`', () => ({ statementClass: 'ddl', sinceNs: endNs - 7n * DAY })],
  ['`--status 42501`', () => ({ status: '42501' })],
  ['`--port 5432 --action db-query`', () => ({ port: 5432, actions: ['db-query'] })],
  [
    '`--connection ID --order oldest`',
    (i) => ({ connectionId: conn(i).connectionId ?? '', order: 'oldest' }),
  ],
  ['`--community-id` (from a real record)', (i) => ({ communityId: conn(i).communityId ?? '' })],
];
for (const [name, f] of searches)
  await measure(name, SEARCH, (i) => s.searchPage({ ...f(i), limit: 100 }));
await measure('`--user` page 1 + page 2 (`--after` its cursor)', SEARCH, async (i) => {
  const first = await s.searchPage({ user: USERS[(i * 7) % USERS.length] ?? 'svc-0', limit: 100 });
  return first.next === null
    ? first
    : s.searchPage({
        user: USERS[(i * 7) % USERS.length] ?? 'svc-0',
        limit: 100,
        after: first.next,
      });
});
await measure('`who IP:PORT --at` (client leg)', 10, (i) => {
  const o = open(i);
  return s.connectionAt(o?.src_ip ?? '', o?.src_port ?? 0, BigInt(o?.ts_ns ?? 0) + 1_000_000n);
});
await measure('`who IP:PORT --at` (upstream leg)', 10, (i) => {
  const o = open(i);
  return s.connectionAt(
    o?.up_local_ip ?? '',
    o?.up_local_port ?? 0,
    BigInt(o?.ts_ns ?? 0) + 1_000_000n,
  );
});
await measure('`--count --since 1d`', undefined, () => s.count({ sinceNs: endNs - DAY }));
await measure('`--count --since 7d`', undefined, () => s.count({ sinceNs: endNs - 7n * DAY }));
await measure('`--count --action db-query --since 1d`', undefined, () =>
  s.count({ actions: ['db-query'], sinceNs: endNs - DAY }),
);
await measure('`--group-by node --since 1d`', undefined, () =>
  reader.groupBy({ sinceNs: endNs - DAY }, 'node'),
);
await measure('`--group-by listener --since 1d`', undefined, () =>
  reader.groupBy({ sinceNs: endNs - DAY }, 'listener'),
);
await measure('`--group-by hour`, one month (all records)', 1000, () =>
  reader.groupBy({ sinceNs: endNs - 30n * DAY }, 'hour', 10_000),
);
await measure('`--group-by hour`, one month, `--listener orders-db`', 1000, () =>
  reader.groupBy({ sinceNs: endNs - 30n * DAY, listener: 'orders-db' }, 'hour', 10_000),
);

const ms = (v: number): string => (v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0));
console.log(
  `\ncentral store: ${rows} records of ${nodes} nodes, ${(tableBytes / rows).toFixed(0)} bytes/record in records (${(tableBytes / 1e9).toFixed(2)} GB with its indexes and TOAST; database ${(Number(size.rows[0]?.database ?? 0) / 1e9).toFixed(2)} GB)\n`,
);
const z = size.rows[0];
console.log(
  `rollup record_hours: ${z?.hour_rows} rows, ${(Number(z?.hours ?? 0) / 1e6).toFixed(1)} MB; connections: ${z?.conn_rows} rows, ${(Number(z?.conns ?? 0) / 1e6).toFixed(1)} MB\n`,
);
console.log('| what | runs | p50 | p95 | target |');
console.log('|---|---|---|---|---|');
for (const l of lines) {
  const miss = l.target !== undefined && l.p95 >= l.target;
  console.log(
    `| ${l.name} | ${l.runs} | ${ms(l.p50)} ms | ${miss ? '**' : ''}${ms(l.p95)} ms${miss ? '** (miss)' : ''} | ${l.target === undefined ? '' : `p95 < ${l.target} ms`} |`,
  );
}
if (explain) {
  for (const l of lines.filter((x) => x.target !== undefined && x.p95 >= x.target)) {
    for (const q of l.queries) {
      const plan = await query(`EXPLAIN (ANALYZE, BUFFERS) ${q.text}`, q.values);
      console.log(`\n### ${l.name}\n\n${q.text}\n${JSON.stringify(q.values)}\n`);
      for (const r of (plan as { rows: { 'QUERY PLAN': string }[] }).rows)
        console.log(r['QUERY PLAN']);
    }
  }
}
await s.close();
if (!keep) await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
