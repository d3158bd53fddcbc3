/**
 * A parallel verify's worker thread (verify-pool.ts): opens the log read-only, checks each
 * range it is sent with `checkRange`, posting progress and then the result, until the pool
 * terminates it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { SqliteStore } from '../store/index.js';
import { checkRange, type RangeResult, type RangeTask } from './verify-range.js';

export interface RangeWorkerData {
  readonly path: string;
}

export type RangeWorkerMessage =
  | { type: 'progress'; done: number }
  | { type: 'result'; result: RangeResult }
  | { type: 'error'; message: string };

const data = workerData as RangeWorkerData;
const post = (m: RangeWorkerMessage): void => parentPort?.postMessage(m);
let store: SqliteStore | null = null;
try {
  store = new SqliteStore(data.path, { readonly: true });
} catch (err) {
  post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
}
parentPort?.on('message', (m: { type: 'task'; task: RangeTask }) => {
  if (store === null) return;
  const log = store;
  try {
    const result = checkRange(
      (from, to) => log.leafBatch(from, to),
      m.task,
      (done) => post({ type: 'progress', done }),
    );
    post({ type: 'result', result });
  } catch (err) {
    post({ type: 'error', message: err instanceof Error ? err.message : String(err) });
  }
});
