/**
 * A whole-log verify in a worker thread (verify-in-worker.ts): it opens the log read-only,
 * checks it on this one thread (the fast path of verify-parallel.ts, `verifyLog` on any
 * doubt), posts the result and ends, so a gateway's event loop keeps forwarding meanwhile
 * and the other cores stay with the gateway.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../store/index.js';
import { verifyLogParallel } from './verify-parallel.js';

export interface VerifyWorkerData {
  readonly path: string;
  readonly verifierKeys: readonly string[];
  readonly origin: string;
}

const data = workerData as VerifyWorkerData;
const store = new SqliteStore(data.path, { readonly: true });
try {
  const result = await verifyLogParallel(store, {
    threads: 1,
    verifierKeys: data.verifierKeys,
    origin: data.origin,
  });
  parentPort?.postMessage({ ok: true, result });
} catch (err) {
  parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
} finally {
  store.close();
}
