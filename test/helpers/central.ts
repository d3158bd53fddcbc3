/**
 * Two (or more) in-process gateways ship to the local NATS (127.0.0.1:4222, a stream and
 * subject prefix of this test's own, deleted at the end) and an in-process collector writes
 * a fresh PostgreSQL database. `traffic()` sends Redis commands through each node; `settle()`
 * waits until the central store holds every record each node committed.
 */
import { connect } from 'nats';
import pg from 'pg';
import { Redis } from 'ioredis';
import { readNodeKey } from '../../src/audit/store-log.js';
import { silentLogger } from '../../src/log.js';
import { CentralStore, Collector } from '../../src/ship/index.js';
import { startGateway, type TestGateway } from './gateway.js';

export const NATS_URL = 'nats://127.0.0.1:4222';

export interface TestCentral {
  readonly dbUrl: string;
  readonly gateways: ReadonlyMap<string, TestGateway>;
  readonly keys: readonly string[];
  readonly store: CentralStore;
  /** `commands(node)` Redis commands through `node`'s gateway (e.g. [['set', 'k', 'v']]). */
  traffic(node: string, commands: readonly (readonly string[])[]): Promise<void>;
  /** Waits until every node's committed records are all in the central store. */
  settle(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

/** One statement as the local PostgreSQL superuser (create and drop test databases). */
export async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

export async function startCentral(tag: string, nodes: readonly string[]): Promise<TestCentral> {
  const id = `${tag}_${process.pid}_${Date.now() % 100000}`;
  const db = `pw_central_${id}`;
  const dbUrl = `postgres://postgres@127.0.0.1:5432/${db}`;
  const stream = `PWTEST_${id.toUpperCase()}`;
  const prefix = `pwtest${id}`;
  await admin(`CREATE DATABASE ${db}`);
  const gateways = new Map<string, TestGateway>();
  const keys: string[] = [];
  for (const node of nodes) {
    const gw = await startGateway({
      listeners: [
        { name: 'cache', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
      ],
      audit: { checkpoint_interval: '300ms' },
      extra: {
        node,
        ship: { nats: NATS_URL, stream, subject_prefix: prefix, publish_timeout: '2s' },
      },
    });
    gateways.set(node, gw);
    keys.push(readNodeKey(gw.dataDir).verifierKey);
  }
  const store = await CentralStore.open(dbUrl);
  const collector = new Collector(
    store,
    {
      servers: [NATS_URL],
      stream,
      subjectPrefix: prefix,
      durable: `collector-${id}`,
      keys,
      ackWaitMs: 5000,
      batch: 200,
      maxPendingPerNode: 100_000,
      name: `collector-${id}`,
    },
    silentLogger(),
  );
  await collector.start();

  return {
    dbUrl,
    gateways,
    keys,
    store,
    async traffic(node, commands) {
      const gw = gateways.get(node);
      if (!gw) throw new Error(`no node ${node}`);
      const client = new Redis({ host: '127.0.0.1', port: gw.port('cache'), lazyConnect: true });
      await client.connect();
      try {
        for (const [cmd = 'ping', ...args] of commands) await client.call(cmd, ...args);
      } finally {
        await client.quit();
      }
    },
    async settle(timeoutMs = 30_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const states = new Map((await store.nodes()).map((n) => [n.node, n.nextSeq]));
        const done = [...gateways].every(
          ([node, gw]) => (states.get(node) ?? 0) >= gw.gateway.store.nextSequence(),
        );
        if (done) return;
        if (Date.now() > deadline) throw new Error('timed out waiting for the central store');
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    async stop() {
      await collector.stop();
      for (const gw of gateways.values()) await gw.stop();
      await store.close();
      const nc = await connect({ servers: NATS_URL });
      try {
        const jsm = await nc.jetstreamManager();
        await jsm.streams.delete(stream).catch(() => false);
      } finally {
        await nc.close();
      }
      await admin(`DROP DATABASE IF EXISTS ${db} WITH (FORCE)`);
    },
  };
}
