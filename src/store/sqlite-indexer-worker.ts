/**
 * The index builder's thread (sqlite-indexer.ts). It opens its own connection to the log
 * (read only in practice) with the index attached, indexes in batches until caught up,
 * then looks again every `pollMs`. The gateway's thread never waits for it: searches read
 * the part it has not reached from the log itself.
 *
 * It also checkpoints the log's WAL as records arrive, between its batches (a RESTART
 * checkpoint that waits for no one), so that the copy into the log file runs on this thread
 * and the WAL can start over; the log's writer thread then does not checkpoint at all.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { lowerThreadPriority } from '../thread-priority.js';
import { attachIndex, indexBatch } from './sqlite-indexer.js';

/**
 * The index is derived and may lag (searches read the rest from the log; the lag is a
 * metric): under a burst that fills both cores, recording and forwarding come first.
 */
const INDEX_NICENESS = 19;

export interface IndexerWorkerData {
  readonly logPath: string;
  readonly indexPath: string;
  readonly pollMs: number;
  /** Set to 1 (and notified) once the worker has closed its connection after a stop. */
  readonly stopped: Int32Array;
}

const data = workerData as IndexerWorkerData;
lowerThreadPriority(INDEX_NICENESS);
const db = new Database(data.logPath, { fileMustExist: true });
db.pragma('busy_timeout = 10000');
db.pragma('cache_size = -32768');
attachIndex(db, data.indexPath);
db.pragma('idx.cache_size = -65536');

/**
 * A checkpoint of the log's WAL at most every `CHECKPOINT_MS` while records pour in (at
 * least `CHECKPOINT_RECORDS` since the last one), else once `CHECKPOINT_IDLE_MS` went by
 * with any: often enough that the writer's own checkpoint (sqlite-store.ts) finds little
 * left to copy, seldom enough that a quiet gateway does not sync the log file several times
 * a second.
 */
const CHECKPOINT_MS = 50;
const CHECKPOINT_RECORDS = 1_024;
const CHECKPOINT_IDLE_MS = 5_000;

let stopped = false;
let checkpointedAt = Date.now();
/** Where the log ended at the last checkpoint; 0 at start, so the first one comes soon. */
let checkpointedEnd = 0;

function checkpointLog(logEnd: number): void {
  const appended = logEnd - checkpointedEnd;
  if (appended <= 0) return;
  const now = Date.now();
  const since = now - checkpointedAt;
  if (since < CHECKPOINT_MS) return;
  if (appended < CHECKPOINT_RECORDS && since < CHECKPOINT_IDLE_MS) return;
  checkpointedAt = now;
  checkpointedEnd = logEnd;
  // Between batches this thread holds no snapshot of the log, so a RESTART checkpoint
  // (which waits for no one here: busy_timeout 0) copies the whole WAL and lets it start
  // over, unless another reader holds it; the writer thread then never stalls on a copy.
  db.pragma('busy_timeout = 0');
  try {
    db.pragma('main.wal_checkpoint(RESTART)');
  } finally {
    db.pragma('busy_timeout = 10000');
  }
}

let timer: NodeJS.Timeout | undefined;

function tick(): void {
  timer = undefined;
  if (stopped) return;
  try {
    const p = indexBatch(db);
    checkpointLog(p.end);
    if (p.upto < p.end) {
      // More to do: yield to the message loop (a stop request), then go on.
      timer = setTimeout(tick, 0);
      return;
    }
  } catch (err) {
    parentPort?.postMessage({
      type: 'error',
      message: err instanceof Error ? err.message : String(err),
    });
  }
  timer = setTimeout(tick, data.pollMs);
}

parentPort?.on('message', (m: { type: string }) => {
  if (m.type === 'stop') {
    stopped = true;
    if (timer) clearTimeout(timer);
    db.close();
    Atomics.store(data.stopped, 0, 1);
    Atomics.notify(data.stopped, 0);
    parentPort?.close();
  } else if (m.type === 'poke' && timer !== undefined && !stopped) {
    clearTimeout(timer);
    timer = setTimeout(tick, 0);
  }
});

tick();
