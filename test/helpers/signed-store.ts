/**
 * A real embedded store with a signed log, written by the Recorder and the Checkpointer as
 * a gateway writes it (no indexer): for tests of verify on the store itself.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Checkpointer } from '../../src/audit/checkpointer.js';
import { loadOrCreateNodeKey } from '../../src/audit/integrity.js';
import { Recorder } from '../../src/audit/recorder.js';
import { SqliteStore } from '../../src/store/index.js';

export type NodeKey = ReturnType<typeof loadOrCreateNodeKey>;

export interface SignedStore {
  readonly dir: string;
  readonly path: string;
  readonly key: NodeKey;
}

/**
 * `records` db-query records (some with non-ASCII text) in a new data dir (its path pushed on `dirs` for clean-up), a
 * signed checkpoint after each record index `checkpointAfter` says, and one at the end.
 */
export function makeSignedStore(
  dirs: string[],
  records: number,
  checkpointAfter: (i: number) => boolean,
  name = 'node-t',
): SignedStore {
  const dir = mkdtempSync(join(tmpdir(), 'pw-signed-store-'));
  dirs.push(dir);
  const path = join(dir, 'portwarden.db');
  const store = new SqliteStore(path, { indexer: 'none' });
  const key = loadOrCreateNodeKey(dir, name);
  const checkpointer = new Checkpointer(store, key, name, dir);
  const recorder = new Recorder(store, {
    mode: 'async',
    flushMs: 1000,
    observer: name,
    tree: checkpointer,
  });
  checkpointer.attach(recorder);
  for (let i = 0; i < records; i++) {
    recorder.append({
      event: { action: 'db-query', category: ['database'], type: ['access'] },
      // Some bodies carry characters of two, three and four UTF-8 bytes.
      db: { query: { text: i % 7 === 3 ? `SELECT '${i} café ☕ 𝄞'` : `SELECT ${i}` } },
    });
    if (checkpointAfter(i)) {
      recorder.flush();
      checkpointer.checkpointNow();
    }
  }
  recorder.flush();
  checkpointer.checkpointNow();
  recorder.flush();
  store.close();
  return { dir, path, key };
}
