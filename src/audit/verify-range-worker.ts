/**
 * A parallel verify's worker thread (verify-parallel.ts): opens the log read-only, checks
 * one range with `checkRange`, posts progress and then the result, and ends.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../store/index.js';
import { checkRange, type RangeTask } from './verify-range.js';

export interface RangeWorkerData extends RangeTask {
  readonly path: string;
}

const data = workerData as RangeWorkerData;
const store = new SqliteStore(data.path, { readonly: true });
try {
  let reported = 0;
  const result = checkRange(
    (from, to) => store.leafRowsHex(from, to),
    data,
    (done) => {
      parentPort?.postMessage({ type: 'progress', done: done - reported });
      reported = done;
    },
  );
  parentPort?.postMessage({ type: 'result', result });
} catch (err) {
  parentPort?.postMessage({
    type: 'error',
    message: err instanceof Error ? err.message : String(err),
  });
} finally {
  store.close();
}
