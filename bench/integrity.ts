/**
 * Integrity at scale, on the real embedded store: appends per second through the Recorder
 * with the Merkle tree maintained inside each commit (committed on the store's writer
 * thread, as in a gateway, and for comparison a 300k run committed on the event loop's
 * thread), `verify` records per second, and the time to produce an inclusion and a
 * consistency proof at the final size.
 *
 * Verify is timed once the index worker has caught up with the appends (it would otherwise
 * hold one of the cores the verify threads run on), four ways: `verifyLog` (the sequential
 * path that names a tampered record), the fast path on one thread and on every core, and
 * the real `portwarden verify` command from dist/ as a process (start-up included), which
 * is what an operator runs. Build first (`npm run build`): the fast path then runs from
 * dist/ too, and the last line is measured.
 * Run: node --import tsx bench/integrity.ts [records=1000000]
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deepFreeze } from '../src/audit/canonical.js';
import { Checkpointer } from '../src/audit/checkpointer.js';
import {
  MerkleTree,
  defaultVerifyThreads,
  loadOrCreateNodeKey,
  verifyLog,
  type verifyLogParallel as verifyLogParallelType,
} from '../src/audit/integrity.js';
import { Recorder, type RecordContext } from '../src/audit/recorder.js';
import { storeLogSource } from '../src/audit/store-log.js';
import { SqliteStore } from '../src/store/index.js';

const total = Number(process.argv[2] ?? 1_000_000);

/**
 * Two fixed workloads timed first, so that runs on different or busy machines can be read
 * side by side: SHA-256 over 64 MiB, and JSON.stringify of a 700-byte record 200,000 times.
 */
function calibrate(): { shaMBps: number; stringifyUs: number } {
  const block = Buffer.alloc(1 << 20, 7);
  let t = performance.now();
  for (let i = 0; i < 64; i++) createHash('sha256').update(block).digest();
  const shaMBps = 64 / ((performance.now() - t) / 1000);
  const sample = { text: 'x'.repeat(600), n: 1, list: ['a', 'b'], nested: { a: 1, b: 'two' } };
  let bytes = 0;
  t = performance.now();
  for (let i = 0; i < 200_000; i++) bytes += JSON.stringify({ ...sample, n: i }).length;
  const stringifyUs = ((performance.now() - t) * 1000) / 200_000;
  if (bytes === 0) throw new Error('unreachable');
  return { shaMBps, stringifyUs };
}
const machine = calibrate();

// The gateway freezes a connection's constant parts (src/gateway/tuple-context.ts).
const ctx: RecordContext = {
  fields: deepFreeze({
    listener: { name: 'orders-db', protocol: 'postgres' },
    connection: { id: 'c-bench' },
    source: { ip: '10.1.2.3', port: 51234 },
    destination: { ip: '10.1.2.9', port: 15432 },
    upstream: { local: { ip: '10.1.2.9', port: 40522 }, ip: '10.1.5.5', port: 5432 },
    network: { transport: 'tcp', protocol: 'postgresql' },
  }),
  listener: 'orders-db',
  connectionId: 'c-bench',
  sourceIp: '10.1.2.3',
  sourcePort: 51234,
  destinationIp: '10.1.2.9',
  destinationPort: 15432,
  upstreamLocalIp: '10.1.2.9',
  upstreamLocalPort: 40522,
  upstreamIp: '10.1.5.5',
  upstreamPort: 5432,
  communityId: '1:bench',
  user: 'app',
};

interface Appended {
  readonly dir: string;
  readonly store: SqliteStore;
  readonly key: ReturnType<typeof loadOrCreateNodeKey>;
  readonly seconds: number;
}

/**
 * Appends `count` records through the Recorder as the gateway runs it: the event loop
 * turns after every 1,000 records (a gateway turns after every read), the Recorder commits
 * each turn's records — with the Merkle nodes they complete — on the store's writer thread
 * (`writer: 'thread'`, what the gateway opens) while the next ones are serialized, or on
 * this thread (`inline`). Timed until the last record is committed.
 */
async function appendRecords(count: number, writer: 'thread' | 'inline'): Promise<Appended> {
  const dir = mkdtempSync(join(tmpdir(), 'pw-bench-integrity-'));
  const store = new SqliteStore(join(dir, 'portwarden.db'), { writer });
  const key = loadOrCreateNodeKey(dir, 'bench');
  const checkpointer = new Checkpointer(store, key, 'bench', dir);
  const recorder = new Recorder(store, {
    mode: 'async',
    flushMs: 1000,
    observer: 'bench',
    tree: checkpointer,
  });
  checkpointer.attach(recorder);
  const t = performance.now();
  for (let i = 0; i < count; i++) {
    recorder.append(
      {
        event: { action: 'db-query', category: ['database'], type: ['access', 'allowed'] },
        user: { name: 'app' },
        db: {
          system: 'postgresql',
          operation: 'SELECT',
          query: { text: `select * from orders where id = ${i}`, class: 'read' },
        },
      },
      ctx,
    );
    if ((i + 1) % 1000 === 0) await new Promise((resolve) => setImmediate(resolve));
    if ((i + 1) % 100_000 === 0) checkpointer.checkpointNow();
  }
  checkpointer.checkpointNow();
  if (!recorder.close()) throw new Error(`store refused: ${recorder.lastStoreError}`);
  return { dir, store, key, seconds: (performance.now() - t) / 1000 };
}

// Commits on this thread, as before the writer thread: a smaller run, for comparison.
const inlineCount = Math.min(total, 300_000);
const inline = await appendRecords(inlineCount, 'inline');
inline.store.close();
rmSync(inline.dir, { recursive: true, force: true });

const { dir, store, key, seconds: appendSeconds } = await appendRecords(total, 'thread');
const size = store.nextSequence();

// Let the index worker finish with the appended records before timing verify. It reads
// each record's columns from its body (src/store/sqlite-log-rows.ts) on the other core.
const tIndex = performance.now();
const indexDeadline = Date.now() + 30 * 60_000;
for (;;) {
  const status = store.indexStatus();
  if (status.indexedUpto >= status.logEnd) break;
  if (Date.now() > indexDeadline) throw new Error('index worker did not catch up in 30 min');
  await new Promise((resolve) => setTimeout(resolve, 200));
}

const indexLagSeconds = (performance.now() - tIndex) / 1000;

const t1 = performance.now();
const source = storeLogSource(store);
const result = verifyLog(source, { verifierKeys: [key.verifierKey], origin: 'bench' });
const verifySeconds = (performance.now() - t1) / 1000;
if (!result.ok) throw new Error(`verify failed: ${result.kind} at ${result.sequence}`);

// The fast path: batches of leaf inputs and leaves, ranges of 16,384-leaf chunks (worker threads). From
// dist/ when built, as the product runs it: from src/, each worker thread would first load
// the TypeScript sources through tsx (~0.2 s of a 1M run).
const distIntegrity = new URL('../dist/audit/integrity.js', import.meta.url);
const { verifyLogParallel } = (
  existsSync(distIntegrity)
    ? await import(distIntegrity.href)
    : await import('../src/audit/integrity.js')
) as { verifyLogParallel: typeof verifyLogParallelType };
async function fastVerify(threads: number): Promise<number> {
  const t = performance.now();
  const r = await verifyLogParallel(store, {
    verifierKeys: [key.verifierKey],
    origin: 'bench',
    threads,
    onSequential: (why) => process.stderr.write(`fast verify fell back: ${why}\n`),
  });
  if (!r.ok) throw new Error(`fast verify failed: ${r.kind}`);
  return (performance.now() - t) / 1000;
}
const threads = defaultVerifyThreads();
const oneThreadSeconds = await fastVerify(1);
const parallelSeconds = await fastVerify(threads);

// `portwarden verify` as an operator runs it: a process, from the built dist/.
const cli = new URL('../dist/cli/main.js', import.meta.url).pathname;
let cliSeconds: number | null = null;
if (existsSync(cli)) {
  const tc = performance.now();
  const run = spawnSync(process.execPath, [cli, 'verify', '--data-dir', dir], { encoding: 'utf8' });
  cliSeconds = (performance.now() - tc) / 1000;
  if (run.status !== 0) throw new Error(`portwarden verify exited ${run.status}: ${run.stderr}`);
}

const tree = new MerkleTree(store, size);
const samples = 200;
const t2 = performance.now();
for (let i = 0; i < samples; i++) tree.inclusionProof(Math.floor((i * 7919) % size), size);
const inclusionMs = (performance.now() - t2) / samples;
const t3 = performance.now();
for (let i = 0; i < samples; i++)
  tree.consistencyProof(1 + Math.floor((i * 104729) % (size - 1)), size);
const consistencyMs = (performance.now() - t3) / samples;
const bytes = statSync(join(dir, 'portwarden.db')).size;

const rows = [
  [
    'machine: SHA-256 MB/s; JSON.stringify of a 700-byte record, µs',
    `${Math.round(machine.shaMBps)}; ${machine.stringifyUs.toFixed(2)}`,
  ],
  ['records', String(size)],
  [
    'appends/s (Recorder + Merkle tree in each commit; commits on the writer thread)',
    Math.round(size / appendSeconds).toLocaleString('en-US'),
  ],
  [
    `appends/s, commits on the event loop's thread (${inlineCount.toLocaleString('en-US')} records)`,
    Math.round(inlineCount / inline.seconds).toLocaleString('en-US'),
  ],
  [
    'index worker: seconds behind after the last append; records indexed/s overall',
    `${indexLagSeconds.toFixed(1)}; ${Math.round(size / (appendSeconds + indexLagSeconds)).toLocaleString('en-US')}`,
  ],
  [
    'verify records/s, verifyLog (sequential, names the first bad record)',
    Math.round(size / verifySeconds).toLocaleString('en-US'),
  ],
  [
    'verify records/s, fast path on one thread (API and scheduled verify)',
    Math.round(size / oneThreadSeconds).toLocaleString('en-US'),
  ],
  [
    `verify records/s, fast path on ${threads} worker threads (${existsSync(distIntegrity) ? 'dist/' : 'src/ through tsx'})`,
    Math.round(size / parallelSeconds).toLocaleString('en-US'),
  ],
  [
    `verify records/s, \`portwarden verify\` process (${threads} threads, start-up included)`,
    cliSeconds === null ? 'dist/ not built' : Math.round(size / cliSeconds).toLocaleString('en-US'),
  ],
  ['inclusion proof (mean of 200, ms)', inclusionMs.toFixed(3)],
  ['consistency proof (mean of 200, ms)', consistencyMs.toFixed(3)],
  ['store bytes per record', (bytes / size).toFixed(0)],
];
process.stdout.write(
  `| measure | value |\n|---|---|\n${rows.map(([k, v]) => `| ${k} | ${v} |`).join('\n')}\n`,
);
store.close();
rmSync(dir, { recursive: true, force: true });
