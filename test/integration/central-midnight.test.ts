/**
 * Regression: the collector hung at the first record of a new UTC day with two or more
 * nodes (fixed in 89ccb5e). A batch's transaction inserted the first node's rows into
 * `records`, then created the next node's missing day partition on another pooled
 * connection; `CREATE TABLE … PARTITION OF records` waited for the transaction's own lock
 * on `records` while the transaction waited for it. Here three nodes' records, published
 * to the local NATS before the collector starts (so one fetch is one batch), cross a
 * midnight into a day that has no partition yet: the batch must commit and store every
 * record (polled with a deadline, never a sleep).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import { admin } from '../helpers/central.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../src/audit/canonical.js';
import { formatTimestampNs } from '../../src/audit/clock.js';
import { leafHash, loadOrCreateNodeKey } from '../../src/audit/integrity.js';
import { silentLogger } from '../../src/log.js';
import { CentralStore, Collector } from '../../src/ship/index.js';
import { encodeRecord, recordsSubject } from '../../src/ship/wire.js';

const NATS_URL = 'nats://127.0.0.1:4222';
const id = `midnight_${process.pid}_${Date.now() % 100000}`;
const DB = `pw_central_${id}`;
const STREAM = `PWTEST_${id.toUpperCase()}`;
const PREFIX = `pwtest${id}`;
const dir = mkdtempSync(join(tmpdir(), 'pw-midnight-'));
const MS = 1_000_000n;
/** 2031-03-15T00:00:00Z: no other test writes that far ahead. */
const MIDNIGHT = BigInt(Date.UTC(2031, 2, 15)) * MS;

let store: CentralStore;
let collector: Collector | undefined;
let nc: NatsConnection;

/** A node's chain: `times` in order, one record each (genuine body, sequence and leaf). */
function records(node: string, times: readonly bigint[]) {
  return times.map((ts, sequence) => {
    const body = canonicalJson({
      '@timestamp': formatTimestampNs(ts),
      event: { action: 'redis-command', kind: 'event', sequence, outcome: 'success' },
      listener: { name: 'cache' },
      observer: { id: node },
      redis: { command: 'GET', key: `k${sequence}` },
    });
    return { node, sequence, timestampNs: ts, leafHash: leafHash(body), body, note: null };
  });
}

async function partitions(): Promise<string[]> {
  const r = await store.pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'records'::regclass ORDER BY 1`,
  );
  return r.rows.map((x) => x.name);
}

beforeAll(async () => {
  await admin(`CREATE DATABASE ${DB}`);
  store = await CentralStore.open(`postgres://postgres@127.0.0.1:5432/${DB}`);
  nc = await connect({ servers: NATS_URL });
});

afterAll(async () => {
  // Dropped first: a hung batch's connections are terminated, so the stops below return.
  await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  await collector?.stop();
  await store?.close().catch(() => undefined);
  const jsm = await nc.jetstreamManager();
  await jsm.streams.delete(STREAM).catch(() => false);
  await nc.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('collector at a UTC midnight', () => {
  it('stores a batch of three nodes that crosses into a day without a partition', async () => {
    const s = 1000n * MS;
    const nodes = {
      // The first node (name order: locked and written first) stays before midnight...
      'node-a': records('node-a', [MIDNIGHT - 3n * s, MIDNIGHT - 2n * s, MIDNIGHT - s]),
      // ...the next ones cross it: their day's partition does not exist yet.
      'node-b': records('node-b', [MIDNIGHT - 2n * s, MIDNIGHT - s, MIDNIGHT, MIDNIGHT + s]),
      'node-c': records('node-c', [MIDNIGHT - s, MIDNIGHT + 5n * s, MIDNIGHT + 9n * s]),
    };
    const keys = Object.keys(nodes).map((n) => loadOrCreateNodeKey(join(dir, n), n).verifierKey);
    expect((await partitions()).filter((p) => p.startsWith('records_p2031'))).toEqual([]);

    const jsm = await nc.jetstreamManager();
    await jsm.streams.add({ name: STREAM, subjects: [`${PREFIX}.>`] });
    const js = nc.jetstream();
    for (const [node, list] of Object.entries(nodes))
      for (const r of list)
        await js.publish(recordsSubject(PREFIX, node), encodeRecord(r), {
          msgID: `${node}:${r.sequence}`,
        });

    collector = new Collector(
      store,
      {
        servers: [NATS_URL],
        stream: STREAM,
        subjectPrefix: PREFIX,
        durable: `collector-${id}`,
        keys,
        ackWaitMs: 5000,
        batch: 500,
        maxPendingPerNode: 1000,
        name: `collector-${id}`,
      },
      silentLogger(),
    );
    await collector.start();
    const want = new Map(Object.entries(nodes).map(([n, list]) => [n, list.length]));
    const deadline = Date.now() + 20_000;
    for (;;) {
      const states = await store.nodes();
      if (states.length === want.size && states.every((x) => x.nextSeq === want.get(x.node))) break;
      if (Date.now() > deadline)
        throw new Error(
          `the midnight batch did not commit in 20 s: ${JSON.stringify(states.map((x) => [x.node, x.nextSeq]))}`,
        );
      await new Promise((r) => setTimeout(r, 50));
    }

    // One batch held all three nodes: the case that hung.
    expect(collector.stats).toMatchObject({ batches: 1, stored: 10, duplicate: 0, retry: 0 });
    expect((await partitions()).filter((p) => p.startsWith('records_p2031'))).toEqual([
      'records_p20310314',
      'records_p20310315',
    ]);
    const r = await store.pool.query<{ node: string; seqs: string[]; days: string[] }>(
      `SELECT node, array_agg(seq::text ORDER BY seq) AS seqs,
              array_agg(DISTINCT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD')) AS days
       FROM records GROUP BY node ORDER BY node`,
    );
    expect(r.rows).toEqual([
      { node: 'node-a', seqs: ['0', '1', '2'], days: ['2031-03-14'] },
      { node: 'node-b', seqs: ['0', '1', '2', '3'], days: ['2031-03-14', '2031-03-15'] },
      { node: 'node-c', seqs: ['0', '1', '2'], days: ['2031-03-14', '2031-03-15'] },
    ]);
    // The hourly rollup counted the batch on both sides of midnight.
    expect(await store.count({ sinceNs: MIDNIGHT })).toBe(4);
    expect(await store.count({ untilNs: MIDNIGHT })).toBe(6);
  });
});
