/**
 * Search at scale: generates N synthetic records (default 10M) over 30 days into a fresh
 * SQLite store, then measures p50/p95 of typical searches, `who`, one month of
 * `--group-by hour`, counts, and store bytes per record.
 *
 *   node --import tsx bench/search-10m.ts [--rows N] [--db FILE] [--keep] [--cold]
 *
 * `--cold` drops the store's files from the page cache (posix_fadvise DONTNEED, through
 * python3) before every timed run, so each search reads what it needs from the disk.
 *
 * An existing --db with N records is reused (generation of 10M takes a while; the generator
 * ends the connection it is in, so a store may hold a few records more than N).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, statSync } from 'node:fs';
import { SqliteStore, type EventFilter } from '../src/store/index.js';
import { SOURCES, USERS, Rng, generate } from './search-data.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

const rows = Number(arg('--rows') ?? 10_000_000);
const path = arg('--db') ?? `/tmp/pw-search-bench-${rows}.db`;
const keep = process.argv.includes('--keep') || arg('--db') !== undefined;
const DAY = 86_400_000_000_000n;
const endWall = BigInt(Date.UTC(2026, 10, 1)) * 1_000_000n;
const startNs = endWall - 30n * DAY;

const cold = process.argv.includes('--cold');

function storeFiles(p: string): string[] {
  return [
    p,
    `${p}-wal`,
    p.replace(/\.db$/, '.index.db'),
    p.replace(/\.db$/, '.index.db-wal'),
  ].filter((f) => existsSync(f));
}

function fileBytes(p: string): number {
  let n = 0;
  for (const f of storeFiles(p)) n += statSync(f).size;
  return n;
}

/** Drop the store's files from the page cache (clean pages only; no privileges needed). */
function evict(p: string): void {
  const code =
    'import os,sys\nfor f in sys.argv[1:]:\n fd=os.open(f,os.O_RDONLY)\n os.posix_fadvise(fd,0,0,os.POSIX_FADV_DONTNEED)\n os.close(fd)';
  const r = spawnSync('python3', ['-c', code, ...storeFiles(p)]);
  if (r.status !== 0) throw new Error(`--cold needs python3: ${r.stderr?.toString() ?? ''}`);
}

let store = new SqliteStore(path);
const found = store.nextSequence();
if (found < rows || found > rows + 1000) {
  store.close();
  for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
  for (const f of ['', '-wal', '-shm'])
    rmSync(path.replace(/\.db$/, '.index.db') + f, { force: true });
  // Bulk load: append to the log with no indexer, then build the index once at the end
  // (the store drops the secondary indexes and builds them sorted for a large backlog).
  store = new SqliteStore(path, { indexer: 'none' });
  const t0 = performance.now();
  let lastLog = 0;
  generate(store, {
    rows,
    startNs,
    spanNs: 30n * DAY,
    onProgress: (n) => {
      if (n - lastLog >= 500_000) {
        lastLog = n;
        const s = (performance.now() - t0) / 1000;
        process.stderr.write(`  ${n} rows, ${s.toFixed(0)} s, ${Math.round(n / s)} rows/s\n`);
      }
    },
  });
  const s = (performance.now() - t0) / 1000;
  console.log(`generated ${rows} records in ${s.toFixed(1)} s (${Math.round(rows / s)} rows/s)`);
  const t1 = performance.now();
  store.indexNow();
  console.log(`built the index in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
}
const stored = store.nextSequence();
store.close();
// Measure as the CLI reads: a read-only connection.
const reader = new SqliteStore(path, { readonly: true });
const last = reader.getBySequence(stored - 1);
const first = reader.getBySequence(0);
if (!last || !first) throw new Error('store is empty');
const endNs = last.timestampNs;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? 0;
}

function measure(name: string, runs: number, fn: (i: number) => unknown): void {
  fn(0); // warm the statement cache and the pages this query touches first
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    if (cold) evict(path);
    const t = performance.now();
    fn(i + 1);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  console.log(
    `${name.padEnd(58)} p50 ${percentile(times, 0.5).toFixed(2).padStart(8)} ms   p95 ${percentile(times, 0.95).toFixed(2).padStart(8)} ms`,
  );
}

const rng = new Rng(42);
const sample = Array.from({ length: 64 }, () => reader.getBySequence(rng.int(stored)));
const at = (i: number) => sample[i % sample.length];
const conns = sample.filter((r) => r?.connectionId);

const searches: [string, (i: number) => EventFilter][] = [
  ['newest page, no filter', () => ({})],
  ['--listener orders-db', () => ({ listener: 'orders-db' })],
  ['--user (varied)', (i) => ({ user: USERS[(i * 7) % USERS.length] ?? 'svc-0' })],
  ['--source IP (varied)', (i) => ({ sourceIp: SOURCES[(i * 13) % 500] ?? '10.1.0.0' })],
  [
    '--source IP:PORT (from a real record)',
    (i) => ({ sourceIp: at(i)?.sourceIp ?? '', sourcePort: at(i)?.sourcePort ?? 0 }),
  ],
  [
    '--action db-query --since 1h (window at the end)',
    () => ({ actions: ['db-query'], sinceNs: endNs - 3_600_000_000_000n }),
  ],
  ['--text "order_items" (phrase)', () => ({ text: 'order_items' })],
  [
    '--text "refunds where id" --listener billing-db',
    () => ({ text: 'refunds where id', listener: 'billing-db' }),
  ],
  ['--outcome failure --listener cache', () => ({ outcome: 'failure', listener: 'cache' })],
  ['--class ddl --since 7d', () => ({ statementClass: 'ddl', sinceNs: endNs - 7n * DAY })],
  ['--status 42501', () => ({ status: '42501' })],
  ['--port 5432 --action db-query', () => ({ port: 5432, actions: ['db-query'] })],
  [
    '--connection ID --order oldest',
    (i) => ({ connectionId: conns[i % conns.length]?.connectionId ?? '', order: 'oldest' }),
  ],
  [
    '--community-id (from a real record)',
    (i) => ({ communityId: conns[i % conns.length]?.communityId ?? '' }),
  ],
];

console.log(
  `\nstore: ${stored} records, ${(fileBytes(path) / stored).toFixed(0)} bytes/record (${(fileBytes(path) / 1e9).toFixed(2)} GB)\n`,
);
for (const [name, f] of searches)
  measure(`search ${name}`, 30, (i) => reader.search({ ...f(i), limit: 100 }));
measure('who IP:PORT --at (client leg)', 200, (i) => {
  const r = at(i);
  return reader.connectionAt(r?.sourceIp ?? '', r?.sourcePort ?? 0, r?.timestampNs ?? 0n);
});
measure('who IP:PORT --at (upstream leg)', 200, (i) => {
  const r = at(i);
  return reader.connectionAt(
    r?.upstreamLocalIp ?? '',
    r?.upstreamLocalPort ?? 0,
    r?.timestampNs ?? 0n,
  );
});
measure('--group-by hour, one month (all records)', 5, () =>
  reader.groupBy({ sinceNs: endNs - 30n * DAY }, 'hour'),
);
measure('--group-by hour, one month, --listener orders-db', 5, () =>
  reader.groupBy({ sinceNs: endNs - 30n * DAY, listener: 'orders-db' }, 'hour'),
);
measure('--group-by listener --since 1d', 5, () =>
  reader.groupBy({ sinceNs: endNs - DAY }, 'listener'),
);
measure('--count --since 7d', 10, () => reader.count({ sinceNs: endNs - 7n * DAY }));
measure('--count --action db-query --since 1d', 10, () =>
  reader.count({ actions: ['db-query'], sinceNs: endNs - DAY }),
);
reader.close();
if (!keep) {
  for (const f of [path, `${path}-wal`, `${path}-shm`]) rmSync(f, { force: true });
  for (const f of ['', '-wal', '-shm'])
    rmSync(path.replace(/\.db$/, '.index.db') + f, { force: true });
}
