/**
 * Scale-out end to end: three in-process gateways ship to a NATS JetStream server this test
 * starts itself (so stopping it disturbs nobody), two collectors (one a child process that
 * is SIGKILLed mid-run, one in this process) write a fresh PostgreSQL database. NATS is
 * stopped and restarted mid-run. In the end the central store holds exactly each node's
 * records (compared with each node's SQLite), every node verifies, a tampered central row
 * is named, and a forged shipped record breaks the node's chain (finding + quarantine).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { connect } from 'nats';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readNodeKey } from '../../src/audit/store-log.js';
import { silentLogger } from '../../src/log.js';
import { CentralStore, Collector, verifyCentralNode } from '../../src/ship/index.js';
import { encodeRecord } from '../../src/ship/wire.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { freePort } from '../helpers/net.js';

const NODES = ['node-a', 'node-b', 'node-c'] as const;
const STREAM = `PWTEST_${process.pid}`;
const PREFIX = `pwtest${process.pid}`;
const DB = `pw_central_test_${process.pid}_${Date.now() % 100000}`;
const DB_URL = `postgres://postgres@127.0.0.1:5432/${DB}`;
const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let natsPort = 0;
let natsDir = '';
let nats: ChildProcess | null = null;
const gateways = new Map<string, TestGateway>();
const keys: string[] = [];
let childCollector: ChildProcess | null = null;
let collectorStore: CentralStore;
let collector: Collector;
let reader: CentralStore;

async function until<T>(
  what: string,
  fn: () => Promise<T | null | false>,
  ms = 30_000,
): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== null && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function startNats(): Promise<void> {
  nats = spawn(
    '/usr/sbin/nats-server',
    ['-a', '127.0.0.1', '-p', String(natsPort), '-js', '-sd', natsDir],
    {
      stdio: 'ignore',
    },
  );
  await until('nats to listen', async () => {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(natsPort, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    return ok;
  });
}

async function stopNats(): Promise<void> {
  const n = nats;
  nats = null;
  if (!n || n.exitCode !== null) return;
  await new Promise<void>((resolve) => {
    n.once('exit', () => resolve());
    n.kill('SIGTERM');
  });
}

function spawnCollector(): ChildProcess {
  return spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      join(ROOT, 'src/cli/main.ts'),
      'collect',
      '--nats',
      `nats://127.0.0.1:${natsPort}`,
      '--store',
      DB_URL,
      '--stream',
      STREAM,
      '--subject-prefix',
      PREFIX,
      '--ack-wait',
      '2s',
      '--batch',
      '50',
      '--name',
      'child-collector',
      '--key',
      ...keys,
    ],
    { cwd: ROOT, stdio: 'ignore', env: { ...process.env, PORTWARDEN_LOG_LEVEL: 'error' } },
  );
}

async function traffic(round: number): Promise<void> {
  await Promise.all(
    [...gateways.entries()].map(async ([node, gw]) => {
      const client = new Redis({ host: '127.0.0.1', port: gw.port('cache'), lazyConnect: true });
      await client.connect();
      for (let i = 0; i < 15; i++) await client.set(`pw:ship:${node}:${round}:${i}`, 'v');
      await client.get(`pw:ship:${node}:${round}:0`);
      await client.del(`pw:ship:${node}:${round}:0`);
      await client.quit();
    }),
  );
}

async function admin<T extends pg.QueryResultRow>(sql: string): Promise<pg.QueryResult<T>> {
  const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await c.connect();
  try {
    return await c.query<T>(sql);
  } finally {
    await c.end();
  }
}

beforeAll(async () => {
  natsPort = await freePort();
  natsDir = mkdtempSync(join(tmpdir(), 'pw-nats-'));
  await startNats();
  await admin(`CREATE DATABASE ${DB}`);
  for (const node of NODES) {
    const gw = await startGateway({
      listeners: [
        { name: 'cache', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
      ],
      audit: { checkpoint_interval: '400ms' },
      extra: {
        node,
        ship: {
          nats: `nats://127.0.0.1:${natsPort}`,
          stream: STREAM,
          subject_prefix: PREFIX,
          publish_timeout: '1s',
        },
      },
    });
    gateways.set(node, gw);
    keys.push(readNodeKey(gw.dataDir).verifierKey);
  }
  collectorStore = await CentralStore.open(DB_URL);
  reader = await CentralStore.open(DB_URL);
  collector = new Collector(
    collectorStore,
    {
      servers: [`nats://127.0.0.1:${natsPort}`],
      stream: STREAM,
      subjectPrefix: PREFIX,
      durable: 'portwarden-collector',
      keys,
      ackWaitMs: 2000,
      batch: 50,
      maxPendingPerNode: 100_000,
      name: 'test-collector',
    },
    silentLogger(),
  );
  await collector.start();
  childCollector = spawnCollector();
}, 60_000);

afterAll(async () => {
  childCollector?.kill('SIGKILL');
  await collector?.stop();
  await collectorStore?.close();
  await reader?.close();
  for (const gw of gateways.values()) await gw.stop();
  await stopNats();
  rmSync(natsDir, { recursive: true, force: true });
  await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
});

describe('shipping to a central store', () => {
  it('survives a NATS outage and a killed collector with no gap and no duplicate', async () => {
    // Both collectors are pulling before traffic starts (the child takes a moment to boot).
    const nc = await connect({ servers: `nats://127.0.0.1:${natsPort}` });
    const jsm = await nc.jetstreamManager();
    await until('two collectors pulling', async () => {
      const info = await jsm.consumers.info(STREAM, 'portwarden-collector');
      return info.num_waiting >= 2;
    });
    await nc.close();
    await traffic(1);
    await until('first records central', async () => (await reader.recordCount()) > 0);

    await stopNats();
    await traffic(2); // committed locally while NATS is down
    await startNats();

    await traffic(3);
    childCollector?.kill('SIGKILL'); // mid-run: its unacknowledged batch is redelivered
    childCollector = null;
    await traffic(4);

    const expected = new Map<string, { seq: number; leaf: string; body: string | null }[]>();
    for (const [node, gw] of gateways) {
      const publisher = gw.gateway.publisher;
      expect(publisher).not.toBeNull();
      await gw.gateway.stop(2000); // final checkpoint, shipped by the publisher before it stops
      expect(publisher?.stats().acked).toBe(gw.gateway.store.nextSequence() - 1);
      expected.set(
        node,
        [...gw.gateway.store.iterate(0)].map((r) => ({
          seq: r.sequence,
          leaf: r.leafHash.toString('hex'),
          body: r.body,
        })),
      );
    }
    expect(publisherFailures()).toBeGreaterThan(0); // the outage was real

    for (const [node, rows] of expected) {
      await until(
        `all of ${node} central`,
        async () => (await reader.recordCount(node)) === rows.length,
        40_000,
      );
      const central = [];
      for await (const r of reader.iterateNode(node))
        central.push({ seq: r.sequence, leaf: r.leafHash.toString('hex'), body: r.body });
      expect(central).toEqual(rows);
      const key = keys.filter((k) => k.startsWith(`${node}+`));
      const result = await verifyCentralNode(reader, node, key);
      expect(result).toMatchObject({ ok: true, size: rows.length });
      expect(result.ok && result.checkpoints).toBeGreaterThan(0);
    }
    // The child collector stored part of the records before it was killed.
    const total = [...expected.values()].reduce((n, rows) => n + rows.length, 0);
    expect(collector.stats.stored).toBeLessThan(total);
    const nodes = await reader.nodes();
    expect(nodes.map((n) => [n.node, n.broken, n.pending, n.quarantined])).toEqual(
      NODES.map((n) => [n, false, 0, 0]),
    );
    expect(await reader.findings()).toEqual([]);
  }, 120_000);

  it('names a tampered central row', async () => {
    const node = 'node-b';
    const c = new pg.Client({ connectionString: DB_URL });
    await c.connect();
    try {
      const hit = await c.query<{ seq: string }>(
        "SELECT seq FROM records WHERE node = $1 AND action = 'redis-command' ORDER BY seq LIMIT 1",
        [node],
      );
      const seq = Number(hit.rows[0]?.seq);
      const upd = await c.query(
        "UPDATE records SET body = replace(body, 'redis-command', 'redis-commant') WHERE node = $1 AND seq = $2",
        [node, seq],
      );
      expect(upd.rowCount).toBe(1);
      const result = await verifyCentralNode(
        reader,
        node,
        keys.filter((k) => k.startsWith(`${node}+`)),
      );
      expect(result).toMatchObject({ ok: false, kind: 'edited', sequence: seq });
    } finally {
      await c.end();
    }
  });

  it('flags a node whose shipped chain breaks and quarantines what follows', async () => {
    const node = 'node-c';
    const next = (await reader.nodes()).find((n) => n.node === node)?.nextSeq ?? -1;
    const gw = gateways.get(node);
    const last = [...(gw?.gateway.store.iterate(next - 1) ?? [])][0];
    expect(last).toBeDefined();
    if (!last?.body) return;
    const forged = last.body.replace(`"sequence":${next - 1}`, `"sequence":${next}`);
    const nc = await connect({ servers: `nats://127.0.0.1:${natsPort}` });
    const js = nc.jetstream();
    await js.publish(
      `${PREFIX}.${node}.records`,
      encodeRecord({
        node,
        sequence: next,
        timestampNs: last.timestampNs,
        leafHash: last.leafHash,
        body: forged,
        note: null,
      }),
    );
    await js.publish(
      `${PREFIX}.${node}.records`,
      encodeRecord({
        node,
        sequence: next + 1,
        timestampNs: last.timestampNs,
        leafHash: last.leafHash,
        body: null,
        note: null,
      }),
    );
    await nc.close();
    const finding = await until('a finding', async () => (await reader.findings(node))[0] ?? null);
    expect(finding).toMatchObject({ node, sequence: next, kind: 'edited' });
    expect(finding.record).toMatchObject({ event: { action: 'audit-finding', kind: 'alert' } });
    const state = await until('quarantine', async () => {
      const s = (await reader.nodes()).find((n) => n.node === node);
      return s && s.quarantined === 2 ? s : null;
    });
    expect(state).toMatchObject({ broken: true, nextSeq: next });
  });
});

function publisherFailures(): number {
  let n = 0;
  for (const gw of gateways.values()) n += gw.gateway.publisher?.stats().failures ?? 0;
  return n;
}
