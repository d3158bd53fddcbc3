/**
 * The log's writer thread, as the gateway's thread sees it. A commit of a batch — its
 * records and the Merkle nodes they complete — runs on the writer's own connection while
 * this thread goes on serving traffic and serializing the next records (DESIGN §6: the
 * commit and any fsync run off the event loop). One batch is in flight at a time; its
 * answer comes back as a message (`done` runs on this thread) or, when a caller must know
 * now (shutdown, a checkpoint, an explicit flush), by `settle()`, which blocks until it
 * has landed.
 */
import {
  MessageChannel,
  Worker,
  receiveMessageOnPort,
  type MessagePort,
} from 'node:worker_threads';
import { errorMessage } from '../errors.js';
import { workerScript } from '../worker-script.js';
import type { EventRow } from './types.js';
import type { WriterWorkerData } from './sqlite-writer-worker.js';

/** The records and nodes of one commit, by column (cheap to copy to the writer's thread). */
export interface WriterBatch {
  readonly id: number;
  readonly seqs: Float64Array;
  readonly ts: BigInt64Array;
  readonly ids: string[];
  readonly actions: string[];
  readonly bodies: string[];
  /** 32 bytes a record. */
  readonly leaves: Uint8Array;
  readonly nodeKeys: Float64Array;
  /** 32 bytes a node. */
  readonly nodeHashes: Uint8Array;
}

export type WriterMessage =
  | { readonly type: 'commit'; readonly batch: WriterBatch }
  | { readonly type: 'wal'; readonly pages: number }
  | { readonly type: 'close' };

export interface WriterAck {
  readonly id: number;
  /** Why the commit was refused (rolled back), or null once it is committed. */
  readonly error: string | null;
}

/**
 * The writer thread is gone (or did not answer) with a batch in flight: whether the batch
 * was committed before is not known from the answer (SqliteStore looks in the log).
 */
export class WriterGoneError extends Error {}

/** Longest `settle()` and `close()` wait for the writer's answer. */
const ANSWER_WAIT_MS = 60_000;
const HASH_SIZE = 32;

/** Collects the writes of one batch on this thread (SqliteStore.transactionInBackground). */
export class BatchCollector {
  private readonly seqs: number[] = [];
  private readonly ts: bigint[] = [];
  private readonly ids: string[] = [];
  private readonly actions: string[] = [];
  private readonly bodies: string[] = [];
  private readonly leaves: Buffer[] = [];
  private readonly nodeKeys: number[] = [];
  private readonly nodeHashes: Buffer[] = [];

  get records(): number {
    return this.seqs.length;
  }

  /** The last record's sequence and leaf hash (undefined for none). */
  get last(): { readonly sequence: number; readonly leafHash: Buffer } | undefined {
    const n = this.seqs.length;
    if (n === 0) return undefined;
    return { sequence: this.seqs[n - 1] as number, leafHash: this.leaves[n - 1] as Buffer };
  }

  /** A record and its body (the writer writes narrow rows only). */
  addRecord(row: EventRow, body: string): void {
    if (row.leafHash.length !== HASH_SIZE)
      throw new Error(`leaf hash of ${row.leafHash.length} bytes`);
    this.seqs.push(row.sequence);
    this.ts.push(row.timestampNs);
    this.ids.push(row.id);
    this.actions.push(row.action);
    this.bodies.push(body);
    this.leaves.push(row.leafHash);
  }

  addNode(key: number, hash: Buffer): void {
    if (hash.length !== HASH_SIZE) throw new Error(`node hash of ${hash.length} bytes`);
    this.nodeKeys.push(key);
    this.nodeHashes.push(hash);
  }

  pack(id: number): WriterBatch {
    return {
      id,
      seqs: Float64Array.from(this.seqs),
      ts: BigInt64Array.from(this.ts),
      ids: this.ids,
      actions: this.actions,
      bodies: this.bodies,
      leaves: Buffer.concat(this.leaves),
      nodeKeys: Float64Array.from(this.nodeKeys),
      nodeHashes: Buffer.concat(this.nodeHashes),
    };
  }
}

export interface LogWriterOptions {
  readonly logPath: string;
  readonly fsync: boolean;
  readonly walCheckpointPages: number;
  readonly walKeepBytes: number;
}

export class LogWriter {
  private readonly worker: Worker;
  private readonly acks: MessagePort;
  private readonly signal = new Int32Array(new SharedArrayBuffer(8));
  private nextId = 1;
  private inFlight: { readonly id: number; readonly done: (err: Error | null) => void } | null =
    null;
  /** Set once the thread is gone (an error, an exit): every later commit is refused. */
  private failure: string | null = null;
  /** Resolves once the thread has opened its connection (or has failed to). */
  readonly ready: Promise<void>;
  private markReady: () => void = () => undefined;

  constructor(options: LogWriterOptions) {
    this.ready = new Promise((resolve) => {
      this.markReady = resolve;
    });
    const channel = new MessageChannel();
    this.acks = channel.port1;
    const workerData: WriterWorkerData = { ...options, signal: this.signal, acks: channel.port2 };
    this.worker = new Worker(workerScript(import.meta.url, 'sqlite-writer-worker'), {
      eval: true,
      workerData,
      transferList: [channel.port2],
    });
    this.worker.unref();
    this.acks.unref();
    this.acks.on('message', (ack: WriterAck) => this.land(ack));
    this.worker.on('error', (err) => this.fail(`log writer thread failed: ${errorMessage(err)}`));
    this.worker.on('exit', () => this.fail('log writer thread exited'));
  }

  /** Whether a batch is in flight (a new one waits for it to land). */
  get busy(): boolean {
    return this.inFlight !== null;
  }

  /** Whether the thread is gone: the store then commits on its own thread. */
  get failed(): boolean {
    return this.failure !== null;
  }

  /** Hands a batch to the writer; `done` runs on this thread once it is committed or refused. */
  commit(batch: BatchCollector, done: (err: Error | null) => void): void {
    if (this.inFlight !== null) throw new Error('a log batch is already in flight');
    if (this.failure !== null) {
      done(new WriterGoneError(this.failure));
      return;
    }
    const id = this.nextId++;
    const packed = batch.pack(id);
    this.inFlight = { id, done };
    this.acks.ref();
    const transfer = [
      packed.seqs.buffer,
      packed.ts.buffer,
      packed.nodeKeys.buffer,
    ] as ArrayBuffer[];
    this.worker.postMessage({ type: 'commit', batch: packed } satisfies WriterMessage, transfer);
  }

  /** Blocks until the batch in flight (if any) has landed and its `done` has run. */
  settle(): void {
    const deadline = Date.now() + ANSWER_WAIT_MS;
    while (this.inFlight !== null) {
      const id = this.inFlight.id;
      const received = receiveMessageOnPort(this.acks) as { message: WriterAck } | undefined;
      if (received !== undefined) {
        this.land(received.message);
        continue;
      }
      if (this.failure !== null || Date.now() > deadline) {
        this.fail(this.failure ?? `log writer did not answer in ${ANSWER_WAIT_MS / 1000} s`);
        return;
      }
      // Wakes when the writer answers a batch (it bumps the signal after posting).
      if (Atomics.load(this.signal, 0) < id) Atomics.wait(this.signal, 0, id - 1, 50);
    }
  }

  /** The WAL size (pages) at which the writer checkpoints the log inside a commit. */
  setWalCheckpointPages(pages: number): void {
    if (this.failure === null) this.worker.postMessage({ type: 'wal', pages });
  }

  /** Settles, then closes the writer's connection and waits (briefly) until it has. */
  close(): void {
    this.settle();
    if (this.failure === null) {
      this.worker.postMessage({ type: 'close' } satisfies WriterMessage);
      Atomics.wait(this.signal, 1, 0, ANSWER_WAIT_MS);
    }
    this.failure ??= 'log writer closed';
    this.acks.close();
  }

  private land(ack: WriterAck): void {
    if (ack.id === 0) {
      this.markReady();
      return;
    }
    const flight = this.inFlight;
    if (flight === null || flight.id !== ack.id) return;
    this.inFlight = null;
    this.acks.unref();
    flight.done(ack.error === null ? null : new Error(ack.error));
  }

  private fail(detail: string): void {
    this.failure ??= detail;
    this.markReady();
    const flight = this.inFlight;
    if (flight === null) return;
    this.inFlight = null;
    this.acks.unref();
    flight.done(new WriterGoneError(this.failure));
  }
}
