// lowerThreadPriority changes the nice value of the calling thread only: a worker thread
// that lowers its own priority leaves the process's main thread as it was.
import { getPriority } from 'node:os';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { workerScript } from '../../src/worker-script.js';

describe('lowerThreadPriority', () => {
  it.runIf(process.platform === 'linux')('lowers a worker thread and not the process', async () => {
    const before = getPriority(process.pid);
    const worker = new Worker(workerScript(import.meta.url, 'thread-priority-worker'), {
      eval: true,
    });
    const answer = await new Promise<{ lowered: boolean; tid: number; nice: number }>(
      (resolve, reject) => {
        worker.once('message', resolve);
        worker.once('error', reject);
      },
    );
    await worker.terminate();
    expect(answer.tid).not.toBe(process.pid);
    expect(answer.lowered).toBe(before < 7);
    expect(answer.nice).toBe(Math.max(7, before));
    expect(getPriority(process.pid)).toBe(before);
  });
});
