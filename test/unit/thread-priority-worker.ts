// Run as a worker thread by thread-priority.test.ts: lowers its own priority and reports.
import { readlinkSync } from 'node:fs';
import { getPriority } from 'node:os';
import { parentPort } from 'node:worker_threads';
import { lowerThreadPriority } from '../../src/thread-priority.js';

const lowered = lowerThreadPriority(7);
const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
parentPort?.postMessage({ lowered, tid, nice: getPriority(tid) });
