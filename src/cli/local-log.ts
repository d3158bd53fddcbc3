/**
 * Opens a data dir's Merkle log for appending outside a gateway (`ingest`, `prune`,
 * `ports drift --record`): store, checkpointer (which keeps the tree in step) and recorder,
 * as the gateway builds them. Refuses while a gateway holds the data dir: two writers would
 * fork the chain.
 */
import { Checkpointer } from '../audit/checkpointer.js';
import { loadOrCreateNodeKey } from '../audit/integrity.js';
import { Recorder } from '../audit/recorder.js';
import { PortwardenError } from '../errors.js';
import { gatewayRunning } from '../gateway/lock.js';
import { openStore, type Store } from '../store/index.js';
import { configuredStore } from './data-dir.js';

export interface LocalLog {
  readonly store: Store;
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
  /** `store: postgres://…` (default: the config's for this data dir, see io.ts). */
  readonly store?: string;
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
  const store = openStore(
    { data_dir: dataDir, store: options.store ?? configuredStore(dataDir) },
    { fsync: options.fsync ?? false },
  );
  const key = loadOrCreateNodeKey(dataDir, node);
  const checkpointer = new Checkpointer(store, key, node, dataDir);
  const recorder = new Recorder(store, {
    mode: 'async',
    flushMs: 50,
    observer: node,
    tree: checkpointer,
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
