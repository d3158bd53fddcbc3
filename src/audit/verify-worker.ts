/**
 * `verifyLog` in a worker thread (verify-in-worker.ts): it opens the log read-only, checks
 * it, posts the result and ends, so a gateway's event loop keeps forwarding meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../store/index.js';
import { storeLogSource } from './store-log.js';
import { verifyLog } from './verify.js';

export interface VerifyWorkerData {
  readonly path: string;
  readonly verifierKeys: readonly string[];
  readonly origin: string;
}

const data = workerData as VerifyWorkerData;
const store = new SqliteStore(data.path, { readonly: true });
const source = storeLogSource(store);
try {
  const result = verifyLog(source, { verifierKeys: data.verifierKeys, origin: data.origin });
  parentPort?.postMessage({ ok: true, result });
} catch (err) {
  parentPort?.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err) });
} finally {
  source.release();
  store.close();
}
