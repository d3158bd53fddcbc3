/**
 * The collector's chain check against a real PostgreSQL database, without NATS: records of
 * a real node log (Recorder + Checkpointer, so bodies, leaves and signed notes are genuine)
 * delivered in reverse order one per transaction end up stored in order with nothing left
 * pending; redelivery is a no-op; a checkpoint whose signed root does not match the central
 * records breaks the chain with a finding.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Checkpointer } from '../../src/audit/checkpointer.js';
import {
  loadOrCreateNodeKey,
  makeSignedCheckpoint,
  parseVerifierKey,
} from '../../src/audit/integrity.js';
import { Recorder } from '../../src/audit/recorder.js';
import { ingestNode } from '../../src/ship/chain.js';
import { CentralStore, verifyCentralNode } from '../../src/ship/index.js';
import type { ShippedRecord } from '../../src/ship/wire.js';
import { SqliteStore } from '../../src/store/index.js';

const DB = `pw_central_test_chain_${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'pw-chain-'));
let central: CentralStore;

async function admin(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/postgres' });
  await c.connect();
  await c.query(sql);
  await c.end();
}

/** A node log of `n` records with a checkpoint after every 5, shipped as the publisher would. */
function nodeLog(
  node: string,
  n: number,
): { records: ShippedRecord[]; verifier: string; signer: ReturnType<typeof loadOrCreateNodeKey> } {
  const d = join(dir, node);
  const store = new SqliteStore(join(d, 'portwarden.db'));
  const key = loadOrCreateNodeKey(d, node);
  const cp = new Checkpointer(store, key, node, d);
  const rec = new Recorder(store, {
    mode: 'async',
    flushMs: 10,
    observer: node,
    tree: cp,
  });
  cp.start(rec, 3_600_000);
  for (let i = 0; i < n; i++) {
    rec.append({
      event: { action: 'redis-command', category: ['database'], type: ['access'] },
      redis: { command: 'GET', key: `k${i}` },
    });
    rec.flush();
    if (i % 5 === 4) cp.checkpointNow();
  }
  rec.flush();
  cp.stop();
  const notes = new Map(store.checkpoints().map((c) => [c.size, c.note]));
  const records = [...store.iterate(0)].map((r) => {
    const size =
      r.action === 'checkpoint'
        ? (JSON.parse(r.body ?? '{}') as { checkpoint: { tree_size: number } }).checkpoint.tree_size
        : -1;
    return {
      node,
      sequence: r.sequence,
      timestampNs: r.timestampNs,
      leafHash: r.leafHash,
      body: r.body,
      note: notes.get(size) ?? null,
    };
  });
  store.close();
  return { records, verifier: key.verifierKey, signer: key };
}

const opts = (keys: string[]) => ({
  keys: new Map(keys.map((k) => [k.split('+')[0] ?? '', [parseVerifierKey(k)]])),
  maxPendingPerNode: 1000,
  collector: 'test',
});

beforeAll(async () => {
  await admin(`DROP DATABASE IF EXISTS ${DB}`);
  await admin(`CREATE DATABASE ${DB}`);
  central = await CentralStore.open(`postgres://postgres@127.0.0.1:5432/${DB}`);
});

afterAll(async () => {
  await central?.close();
  await admin(`DROP DATABASE IF EXISTS ${DB} WITH (FORCE)`);
  rmSync(dir, { recursive: true, force: true });
});

describe('collector chain check', () => {
  it('stores records delivered in reverse order, in order; redelivery changes nothing', async () => {
    const { records, verifier } = nodeLog('rev', 12);
    expect(records.filter((r) => r.note !== null).length).toBeGreaterThan(1);
    const outcomes: string[] = [];
    for (const r of [...records].reverse()) {
      const out = await central.transaction((tx) =>
        ingestNode(tx, 'rev', [r], [], opts([verifier])),
      );
      outcomes.push(...out.records);
    }
    expect(outcomes.slice(0, -1).every((o) => o === 'pending')).toBe(true);
    expect(outcomes.at(-1)).toBe('stored');
    const again = await central.transaction((tx) =>
      ingestNode(tx, 'rev', records, [], opts([verifier])),
    );
    expect(new Set(again.records)).toEqual(new Set(['duplicate']));
    const [state] = await central.nodes();
    expect(state).toMatchObject({
      node: 'rev',
      nextSeq: records.length,
      pending: 0,
      broken: false,
    });
    expect(state?.checkpointSize).toBeGreaterThan(0);
    const result = await verifyCentralNode(central, 'rev', [verifier]);
    expect(result).toMatchObject({ ok: true, size: records.length });
  });

  it('breaks the chain on a signed checkpoint whose root differs from the central records', async () => {
    const { records, verifier, signer } = nodeLog('liar', 7);
    const cpIndex = records.findIndex((r) => r.note !== null);
    const cpRecord = records[cpIndex];
    if (cpRecord === undefined) throw new Error('no checkpoint record');
    const lie = makeSignedCheckpoint({
      origin: 'liar',
      size: cpRecord.sequence,
      root: Buffer.alloc(32, 7),
      key: signer.signer,
    });
    const shipped = records.map((r, i) => (i === cpIndex ? { ...r, note: lie } : r));
    const out = await central.transaction((tx) =>
      ingestNode(tx, 'liar', shipped, [], opts([verifier])),
    );
    expect(out.records.slice(0, cpIndex).every((o) => o === 'stored')).toBe(true);
    expect(out.records.slice(cpIndex).every((o) => o === 'quarantined')).toBe(true);
    const findings = await central.findings('liar');
    expect(findings).toMatchObject([{ kind: 'root-mismatch', sequence: cpRecord.sequence }]);
    expect((await central.nodes()).find((n) => n.node === 'liar')).toMatchObject({
      broken: true,
      quarantined: records.length - cpIndex,
    });
  });
});
