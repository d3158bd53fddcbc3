/**
 * The worker threads of a parallel verify (verify-parallel.ts): `threads` workers, each
 * with its own read-only connection to the log, take ranges from a queue until none is
 * left. More ranges than workers keep every core busy to the end when one range goes
 * slower (a cold page cache, another process on the core); a range that fails a check
 * stops the queue, since the caller then decides with the sequential verify anyway.
 */
import { Worker } from 'node:worker_threads';
import { PortwardenError } from '../errors.js';
import { workerScript } from '../worker-script.js';
import type { RangeResult, RangeTask } from './verify-range.js';
import type { RangeWorkerData, RangeWorkerMessage } from './verify-range-worker.js';

/**
 * Checks `tasks` on `threads` workers. The results come back in task order; fewer than the
 * tasks when one was not sound (the rest were not run).
 */
export function checkRangesInWorkers(
  path: string,
  tasks: readonly RangeTask[],
  threads: number,
  onProgress: (records: number) => void,
): Promise<RangeResult[]> {
  return new Promise((resolve, reject) => {
    const results: (RangeResult | undefined)[] = [];
    const workers: Worker[] = [];
    let next = 0;
    let running = 0;
    let settled = false;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      for (const w of workers) void w.terminate();
      fn();
    };
    const done = (): void => {
      const ordered: RangeResult[] = [];
      for (const r of results) {
        if (r === undefined) break;
        ordered.push(r);
        if (!r.sound) break;
      }
      finish(() => resolve(ordered));
    };
    /** Sends `worker` the next task; returns the task's index, or -1 when none is left. */
    const dispatch = (worker: Worker): number => {
      const task = tasks[next];
      if (task === undefined) {
        if (running === 0) done();
        return -1;
      }
      running++;
      worker.postMessage({ type: 'task', task });
      return next++;
    };
    const count = Math.min(threads, tasks.length);
    if (count === 0) {
      resolve([]);
      return;
    }
    for (let i = 0; i < count; i++) {
      const data: RangeWorkerData = { path };
      const worker = new Worker(workerScript(import.meta.url, 'verify-range-worker'), {
        eval: true,
        workerData: data,
      });
      workers.push(worker);
      let current = -1; // the index of the task this worker is checking
      worker.on('message', (m: RangeWorkerMessage) => {
        if (m.type === 'progress') onProgress(m.done);
        else if (m.type === 'error')
          finish(() =>
            reject(new PortwardenError('PW_ERR_STORE', { detail: `verify: ${m.message}` })),
          );
        else {
          running--;
          const result = revive(m.result);
          results[current] = result;
          if (!result.sound) {
            next = tasks.length; // nothing more to learn: the caller verifies sequentially
            done();
          } else current = dispatch(worker);
        }
      });
      worker.once('error', (err) => finish(() => reject(err)));
      worker.once('exit', (code) =>
        finish(() =>
          reject(new PortwardenError('PW_ERR_STORE', { detail: `verify worker exited (${code})` })),
        ),
      );
      current = dispatch(worker);
    }
  });
}

/** Buffers come back from a worker as plain Uint8Arrays. */
function revive(r: RangeResult): RangeResult {
  const buf = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);
  return {
    ...r,
    chunkRoots: r.chunkRoots.map(buf),
    partials: r.partials.map((p) => ({ size: p.size, hash: buf(p.hash) })),
  };
}
