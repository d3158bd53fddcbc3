/**
 * The log writer's thread (sqlite-writer.ts): its own connection to the log, on which it
 * commits each batch the gateway's thread hands over — the records, the leaf hash of each
 * (hashed here from its body, off the event loop), and the Merkle nodes they complete, in
 * one transaction — and answers on the acknowledgement port with the leaves and the tree's
 * new edge, then bumps the shared signal so that a thread blocked in `settle()` wakes.
 */
import Database from 'better-sqlite3';
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { HASH_SIZE, prefixedLeafHash } from '../audit/merkle.js';
import { Frontier } from '../audit/tree.js';
import { INSERT_NARROW_SQL, PUT_NODE_SQL, keptNodeKey } from './sqlite-schema.js';
import type { BackgroundLanding } from './types.js';
import type { WriterAck, WriterBatch, WriterMessage } from './sqlite-writer.js';

export interface WriterWorkerData {
  readonly logPath: string;
  readonly fsync: boolean;
  readonly walCheckpointPages: number;
  readonly walKeepBytes: number;
  /** [0]: id of the last batch answered; [1]: 1 once the connection is closed. */
  readonly signal: Int32Array;
  readonly acks: MessagePort;
}

const data = workerData as WriterWorkerData;
const db = new Database(data.logPath, { fileMustExist: true });
db.pragma('busy_timeout = 10000');
db.pragma(`synchronous = ${data.fsync ? 'FULL' : 'NORMAL'}`);
// This thread checkpoints the log itself (`checkpointIfDue`), not inside every commit.
db.pragma('wal_autocheckpoint = 0');
const pageSize = Number(db.pragma('page_size', { simple: true }));
let checkpointBytes = data.walCheckpointPages * pageSize;
db.pragma(`journal_size_limit = ${data.walKeepBytes}`);
db.pragma('cache_size = -16384');
const insert = db.prepare(INSERT_NARROW_SQL);
const putNode = db.prepare(PUT_NODE_SQL);

/** A node the tree completed, if it is a kept one (lower levels are folded on read). */
function storeNode(level: number, index: number, hash: Buffer): void {
  const key = keptNodeKey(level, index);
  if (key !== null) putNode.run(key, hash);
}

const commit = db.transaction((b: WriterBatch): BackgroundLanding => {
  const n = b.seqs.length;
  let tree: Frontier | null = null;
  if (b.edge !== null) {
    if (b.edge.size !== b.seqs[0])
      throw new Error(`the tree holds ${b.edge.size} leaves, the batch starts at ${b.seqs[0]}`);
    tree = new Frontier();
    tree.restoreEdge(b.edge);
  }
  const leaves = new Uint8Array(n * HASH_SIZE);
  const chunks = b.chunks.map((c) => Buffer.from(c));
  const spans = b.spans;
  for (let i = 0; i < n; i++) {
    const chunk = chunks[spans[3 * i] as number] as Buffer;
    const at = spans[3 * i + 1] as number;
    const end = at + (spans[3 * i + 2] as number);
    // 0x00 sits before each body: the leaf's input is hashed where it lies.
    const leaf = prefixedLeafHash(chunk.subarray(at - 1, end));
    insert.run(b.seqs[i], b.ts[i], b.ids[i], b.actions[i], chunk.subarray(at, end), leaf);
    leaves.set(leaf, i * HASH_SIZE);
    tree?.append(leaf, storeNode);
  }
  return { leaves, edge: tree?.edge() ?? null };
});

/**
 * WAL checkpoints, on this thread and never waiting for a reader. SQLite's automatic
 * checkpoint runs inside every commit once the WAL is past its threshold; with the index
 * worker nearly always reading an older snapshot the WAL seldom starts over, so at
 * millions of records nearly every commit paid a checkpoint and its sync of the log file
 * (the writer's commit time per million records went from ~4 s to ~10 s at times, and the
 * records waiting for it piled up on the gateway's thread). Instead, after every
 * `COPY_STEP` bytes written this thread copies the WAL into the log file once (a passive
 * checkpoint), and past `checkpointBytes` asks for a restart without waiting (busy
 * timeout 0): the WAL starts over whenever no reader holds it. While the index worker
 * runs, it checkpoints instead, between its batches, and this thread does not
 * (`checkpointBytes` 0): a copy here stalled commits for seconds at a time.
 */
const COPY_STEP = 64 * 1024 * 1024;
/** WAL bytes a row costs beyond its body (header, columns, leaf); a commit rewrites ~2 pages. */
const ROW_BYTES = 120;
let sinceCopy = 0;
let sinceRestart = 0;

function checkpointIfDue(written: number): void {
  if (checkpointBytes === 0) return; // the index worker checkpoints
  sinceCopy += written;
  sinceRestart += written;
  if (sinceCopy < COPY_STEP) return;
  sinceCopy = 0;
  if (sinceRestart < checkpointBytes) {
    db.pragma('wal_checkpoint(PASSIVE)');
    return;
  }
  db.pragma('busy_timeout = 0');
  try {
    const [result] = db.pragma('wal_checkpoint(RESTART)') as { busy: number }[];
    if (result?.busy === 0) sinceRestart = 0;
  } finally {
    db.pragma('busy_timeout = 10000');
  }
}

/** About what a committed batch added to the WAL (a kept node for one record in 16). */
function bytesOf(b: WriterBatch): number {
  const n = b.seqs.length;
  let bytes = 2 * pageSize + Math.ceil(n / 16) * ROW_BYTES;
  for (let i = 0; i < n; i++) bytes += (b.spans[3 * i + 2] as number) + ROW_BYTES;
  return bytes;
}

// Id 0 answers no batch: it says the connection is open (LogWriter.ready).
data.acks.postMessage({ id: 0, error: null } satisfies WriterAck);

function answer(ack: WriterAck): void {
  const leaves = ack.landing?.leaves.buffer;
  data.acks.postMessage(ack, leaves === undefined ? [] : [leaves as ArrayBuffer]);
  Atomics.store(data.signal, 0, ack.id);
  Atomics.notify(data.signal, 0);
}

parentPort?.on('message', (m: WriterMessage) => {
  switch (m.type) {
    case 'commit':
      try {
        const landing = commit(m.batch);
        answer({ id: m.batch.id, error: null, landing });
      } catch (err) {
        answer({ id: m.batch.id, error: err instanceof Error ? err.message : String(err) });
        return;
      }
      try {
        checkpointIfDue(bytesOf(m.batch));
      } catch {
        // A checkpoint that fails (an I/O error) is tried again after the next step; the
        // commits it follows are durable in the WAL either way.
      }
      return;
    case 'wal':
      checkpointBytes = m.pages * pageSize;
      return;
    case 'close':
      db.close();
      Atomics.store(data.signal, 1, 1);
      Atomics.notify(data.signal, 1);
      parentPort?.close();
      data.acks.close();
      return;
  }
});
