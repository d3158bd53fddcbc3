// verify of the embedded store in a worker thread: the same verdicts as verifyLog inline,
// while the calling thread stays free.
import Database from 'better-sqlite3';
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyInWorker } from '../../../src/audit/integrity.js';
import { SqliteStore } from '../../../src/store/index.js';
import { type NodeKey, makeSignedStore } from '../../helpers/signed-store.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function makeLog(records: number): { path: string; key: NodeKey } {
  return makeSignedStore(dirs, records, (i) => i % 100 === 99, 'node-w');
}

describe('verifyInWorker', () => {
  it('passes a sound log and names the first edited record', async () => {
    const { path, key } = makeLog(350);
    const store = new SqliteStore(path, { readonly: true });
    const ok = await verifyInWorker(store, key);
    expect(ok.ok).toBe(true);
    if (ok.ok) expect(ok.checkpoints).toBeGreaterThanOrEqual(3);
    const db = new Database(path);
    db.prepare("UPDATE log_v3 SET body = body || ' ' WHERE seq = 123").run();
    db.close();
    const bad = await verifyInWorker(store, key);
    expect(bad).toMatchObject({ ok: false, kind: 'edited', sequence: 123 });
    store.close();
  });

  it('keeps the calling thread free while it runs', async () => {
    const { path, key } = makeLog(3000);
    const store = new SqliteStore(path, { readonly: true });
    let ticks = 0;
    const timer = setInterval(() => ticks++, 1);
    const result = await verifyInWorker(store, key);
    clearInterval(timer);
    expect(result.ok).toBe(true);
    expect(ticks).toBeGreaterThan(0);
    store.close();
  });
});
