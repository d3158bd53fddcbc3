/**
 * Opens a data dir's Merkle log for appending outside a gateway (`portwarden ingest`):
 * store, checkpointer (which keeps the tree in step) and recorder, as the gateway builds
 * them. Refuses while a gateway holds the data dir: two writers would fork the chain.
 */
import { join } from 'node:path';
import { Checkpointer } from '../audit/checkpointer.js';
import { loadOrCreateNodeKey } from '../audit/integrity.js';
import { Recorder } from '../audit/recorder.js';
import { PortwardenError } from '../errors.js';
import { gatewayRunning } from '../gateway/lock.js';
import { SqliteStore } from '../store/index.js';

export interface LocalLog {
  readonly store: SqliteStore;
  readonly recorder: Recorder;
  readonly checkpointer: Checkpointer;
  /** Signs a checkpoint over everything appended, then closes the store. */
  close(): void;
}

export function openLocalLog(dataDir: string, node: string): LocalLog {
  const pid = gatewayRunning(dataDir);
  if (pid !== null) {
    throw new PortwardenError('PW_ERR_USAGE', {
      detail: `a gateway (pid ${pid}) is writing ${dataDir}; configure a "sources:" entry so the gateway tails the file itself, or stop it first`,
    });
  }
  const store = new SqliteStore(join(dataDir, 'portwarden.db'));
  const key = loadOrCreateNodeKey(dataDir, node);
  const checkpointer = new Checkpointer(store, key, node, dataDir);
  const recorder = new Recorder(store, {
    mode: 'async',
    flushMs: 50,
    observer: node,
    onLeaf: checkpointer.onLeaf,
    onRollback: checkpointer.onRollback,
  });
  checkpointer.start(recorder, 3_600_000);
  return {
    store,
    recorder,
    checkpointer,
    close() {
      checkpointer.stop();
      recorder.flush();
      checkpointer.checkpointNow();
      recorder.close();
      store.close();
    },
  };
}
