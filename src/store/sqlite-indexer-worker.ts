/**
 * The index builder's thread (sqlite-indexer.ts). It opens its own connection to the log
 * (read only in practice) with the index attached, indexes in batches until caught up,
 * then looks again every `pollMs`. The gateway's thread never waits for it: searches read
 * the part it has not reached from the log itself.
 *
 * It also checkpoints the log's WAL (a passive checkpoint: it never waits for the writer)
 * at most every `CHECKPOINT_MS`, so that the copy into the log file runs on this thread
 * and not inside a commit on the writer's (sqlite-store.ts keeps its own as a fallback).
 */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { attachIndex, indexBatch } from './sqlite-indexer.js';

export interface IndexerWorkerData {
  readonly logPath: string;
  readonly indexPath: string;
  readonly pollMs: number;
  /** Set to 1 (and notified) once the worker has closed its connection after a stop. */
  readonly stopped: Int32Array;
}

const data = workerData as IndexerWorkerData;
const db = new Database(data.logPath, { fileMustExist: true });
db.pragma('busy_timeout = 10000');
db.pragma('cache_size = -32768');
attachIndex(db, data.indexPath);
db.pragma('idx.cache_size = -65536');

/** Least time between two checkpoints of the log's WAL. */
const CHECKPOINT_MS = 50;

let stopped = false;
let checkpointedAt = 0;

function checkpointLog(): void {
  const now = Date.now();
  if (now - checkpointedAt < CHECKPOINT_MS) return;
  checkpointedAt = now;
  db.pragma('main.wal_checkpoint(PASSIVE)');
}

let timer: NodeJS.Timeout | undefined;

function tick(): void {
  timer = undefined;
  if (stopped) return;
  try {
    const p = indexBatch(db);
    checkpointLog();
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
