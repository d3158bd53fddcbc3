/**
 * Opens a data dir's Merkle log for appending outside a gateway (`ingest`, `prune`,
 * `ports drift --record`): store, checkpointer (which keeps the tree in step) and recorder,
 * as the gateway builds them. Refuses while a gateway holds the data dir: two writers would
 * fork the chain.
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
  /**
   * Commits everything appended (throwing if the store refused), signs a checkpoint over it
   * unless `checkpoint: false`, then closes the store.
   */
  close(options?: { readonly checkpoint?: boolean }): void;
}

export interface LocalLogOptions {
  readonly fsync?: boolean;
  /** What to tell the user when a gateway holds the data dir. */
  readonly whenGatewayRuns?: string;
}

export function openLocalLog(
  dataDir: string,
  node: string,
  options: LocalLogOptions = {},
): LocalLog {
  const pid = gatewayRunning(dataDir);
  if (pid !== null) {
    throw new PortwardenError('PW_ERR_USAGE', {
      detail: `a gateway (pid ${pid}) is writing ${dataDir}; ${options.whenGatewayRuns ?? 'stop it first'}`,
    });
  }
  const store = new SqliteStore(join(dataDir, 'portwarden.db'), { fsync: options.fsync ?? false });
  const key = loadOrCreateNodeKey(dataDir, node);
  const checkpointer = new Checkpointer(store, key, node, dataDir);
  const recorder = new Recorder(store, {
    mode: 'async',
    flushMs: 50,
    observer: node,
    onLeaf: checkpointer.onLeaf,
    onRollback: checkpointer.onRollback,
  });
  // No timer: this process signs its checkpoints itself.
  checkpointer.attach(recorder);
  return {
    store,
    recorder,
    checkpointer,
    close(closeOptions = {}) {
      try {
        if (!recorder.flush()) throw new Error(recorder.lastStoreError);
        if (closeOptions.checkpoint !== false) checkpointer.checkpointNow();
        if (!recorder.close()) throw new Error(recorder.lastStoreError);
      } finally {
        store.close();
      }
    },
  };
}
