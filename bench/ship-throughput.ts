/**
 * Records per second from gateway to central store, end to end, with 3 nodes: each node is
 * a Recorder + Checkpointer on its own SQLite store (as in a gateway) appending synthetic
 * redis-command records as fast as it can; its Publisher ships them to the local NATS
 * JetStream (a stream of its own, deleted afterwards); collectors verify each chain and
 * write a temporary PostgreSQL database. The clock stops when the central store holds every
 * record. The baseline in the same run is the embedded store alone (append + commit).
 *
 * Run: node --import tsx bench/ship-throughput.ts [records-per-node] [collectors]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import pg from 'pg';
import { Checkpointer } from '../src/audit/checkpointer.js';
import { loadOrCreateNodeKey } from '../src/audit/integrity.js';
import { Recorder } from '../src/audit/recorder.js';
import { silentLogger } from '../src/log.js';
import { CentralStore, Collector, Publisher, SHIP_DEFAULTS } from '../src/ship/index.js';
import { SqliteStore } from '../src/store/index.js';

const perNode = Number(process.argv[2] ?? 20_000);
const collectors = Number(process.argv[3] ?? 2);
const NATS = 'nats://127.0.0.1:4222';
const tag = `${process.pid}`;
const STREAM = `PWBENCH_${tag}`;
const PREFIX = `pwbench${tag}`;
const DB = `pw_central_bench_${tag}`;
const DB_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const log = silentLogger();

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await c.connect();
  await c.query(sql);
  await c.end();
}

interface Node {
  name: string;
  dir: string;
  store: SqliteStore;
  recorder: Recorder;
  checkpointer: Checkpointer;
  key: string;
}

function openNode(name: string): Node {
  const dir = mkdtempSync(join(tmpdir(), `pw-bench-${name}-`));
  const store = new SqliteStore(join(dir, 'portwarden.db'));
  const key = loadOrCreateNodeKey(dir, name);
  const checkpointer = new Checkpointer(store, key, name, dir);
  const recorder = new Recorder(store, {
    mode: 'async',
    flushMs: 20,
    observer: name,
    tree: checkpointer,
  });
  checkpointer.start(recorder, 1000);
  return { name, dir, store, recorder, checkpointer, key: key.verifierKey };
}

/** Appends `n` records in event-loop-sized chunks (as traffic would), then commits. */
async function appendAll(node: Node, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    node.recorder.append({
      event: {
        action: 'redis-command',
        category: ['database'],
        type: ['access'],
        outcome: 'success',
      },
      redis: { command: 'SET', key: `bench:${i % 977}`, args: 2 },
      listener: { name: 'cache', protocol: 'redis' },
      source: { ip: '10.0.0.5', port: 40000 + (i % 2000) },
    });
    if (i % 500 === 499) await new Promise((r) => setImmediate(r));
  }
  node.recorder.flush();
}

async function baseline(): Promise<number> {
  const nodes = ['base-a', 'base-b', 'base-c'].map(openNode);
  const t0 = performance.now();
  await Promise.all(nodes.map((n) => appendAll(n, perNode)));
  const rate = (3 * perNode) / ((performance.now() - t0) / 1000);
  for (const n of nodes) {
    n.checkpointer.stop();
    n.store.close();
    rmSync(n.dir, { recursive: true, force: true });
  }
  return rate;
}

async function main(): Promise<void> {
  const base = await baseline();
  await admin(`CREATE DATABASE ${DB}`);
  const nodes = ['node-a', 'node-b', 'node-c'].map(openNode);
  const stores: CentralStore[] = [];
  const cols: Collector[] = [];
  for (let i = 0; i < collectors; i++) {
    const store = await CentralStore.open(DB_URL);
    stores.push(store);
    const c = new Collector(
      store,
      {
        servers: [NATS],
        stream: STREAM,
        subjectPrefix: PREFIX,
        durable: 'bench',
        keys: nodes.map((n) => n.key),
        ackWaitMs: 30_000,
        batch: 500,
        maxPendingPerNode: 100_000,
        name: `bench-${i}`,
      },
      log,
    );
    await c.start();
    cols.push(c);
  }
  const publishers = nodes.map((n) => {
    const p = new Publisher(
      n.store,
      n.name,
      n.dir,
      { ...SHIP_DEFAULTS, servers: [NATS], stream: STREAM, subjectPrefix: PREFIX },
      log,
    );
    p.start(n.recorder);
    return p;
  });
  const reader = await CentralStore.open(DB_URL, { max: 1 });
  const t0 = performance.now();
  await Promise.all(nodes.map((n) => appendAll(n, perNode)));
  const appended = performance.now();
  const total = nodes.reduce((s, n) => s + n.store.nextSequence(), 0);
  for (;;) {
    const central = await reader.recordCount();
    if (central >= total) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  const seconds = (performance.now() - t0) / 1000;
  const rate = total / seconds;
  const stats = cols.map((c) => c.stats);
  console.log(`records: ${total} over 3 nodes, ${collectors} collector(s)`);
  console.log(`embedded store alone (baseline): ${Math.round(base)} records/s`);
  console.log(`appended locally in ${((appended - t0) / 1000).toFixed(2)} s`);
  console.log(
    `gateway -> central end to end: ${Math.round(rate)} records/s (${seconds.toFixed(2)} s), ratio to baseline ${(rate / base).toFixed(2)}`,
  );
  console.log(
    `collector batches: ${stats.map((s) => s.batches).join(', ')}; stored: ${stats.map((s) => s.stored).join(', ')}; pending: ${stats.map((s) => s.pending).join(', ')}`,
  );

  console.log(
    `publish failures (rewinds): ${publishers.map((p) => p.stats().failures).join(', ')}`,
  );
  for (const p of publishers) await p.stop(1000);
  for (const c of cols) await c.stop();
  for (const s of [...stores, reader]) await s.close();
  for (const n of nodes) {
    n.checkpointer.stop();
    n.store.close();
    rmSync(n.dir, { recursive: true, force: true });
  }
  const nc = await connect({ servers: NATS });
  await (await nc.jetstreamManager()).streams.delete(STREAM);
  await nc.close();
  await admin(`DROP DATABASE ${DB} WITH (FORCE)`);
}

await main();
