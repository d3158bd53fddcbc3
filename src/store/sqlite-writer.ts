/**
 * The log's writer thread, as the gateway's thread sees it. A commit of a batch — its
 * records, their leaf hashes and the Merkle nodes they complete — runs on the writer's own
 * connection while this thread goes on serving traffic and serializing the next records
 * (DESIGN §6: the commit and any fsync run off the event loop; so does hashing). One batch is in flight at a time; its
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
import type { TreeEdge } from '../audit/tree.js';
import { workerScript } from '../worker-script.js';
import { BodyArena, type BodyBytes } from './body-arena.js';
import type { BackgroundLanding, EventRow } from './types.js';
import type { WriterWorkerData } from './sqlite-writer-worker.js';

/** The records of one commit, by column (cheap to copy to the writer's thread). */
export interface WriterBatch {
  readonly id: number;
  readonly seqs: Float64Array;
  readonly ts: BigInt64Array;
  readonly ids: string[];
  readonly actions: string[];
  /** The bodies' bytes, each a copy of the part of a chunk the batch's records fill. */
  readonly chunks: ArrayBuffer[];
  /** Per record: its part's index in `chunks`, where its body starts there, its length. */
  readonly spans: Int32Array;
  /** The Merkle tree before the first record: the writer appends the leaves to it. */
  readonly edge: TreeEdge | null;
}

export type WriterMessage =
  | { readonly type: 'commit'; readonly batch: WriterBatch }
  | { readonly type: 'wal'; readonly pages: number }
  | { readonly type: 'close' };

export interface WriterAck {
  readonly id: number;
  /** Why the commit was refused (rolled back), or null once it is committed. */
  readonly error: string | null;
  /** What it wrote beyond the rows (a committed batch only). */
  readonly landing?: BackgroundLanding;
}

/**
 * The writer thread is gone (or did not answer) with a batch in flight: whether the batch
 * was committed before is not known from the answer (SqliteStore looks in the log).
 */
export class WriterGoneError extends Error {}

type WriterDone = (err: Error | null, landing: BackgroundLanding | null) => void;

/** Longest `settle()` and `close()` wait for the writer's answer. */
const ANSWER_WAIT_MS = 60_000;

/**
 * Collects the writes of one batch on this thread (SqliteStore.transactionInBackground),
 * by column into arrays sized for the records announced (grown if more come).
 */
export class BatchCollector {
  private count = 0;
  private seqs: Float64Array;
  private ts: BigInt64Array;
  private readonly ids: string[] = [];
  private readonly actions: string[] = [];
  /** Per record: its chunk's index in `chunks`, where its body starts, its length. */
  private spans: Int32Array;
  /** The chunks the bodies are in, with the range of each that they fill. */
  private readonly chunks: Buffer[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private lastChunk: Buffer | null = null;
  private lastBody: BodyBytes | null = null;
  /** For bodies handed over as strings (`placeText`). */
  private arena: BodyArena | null = null;

  constructor(expected: number) {
    const n = Math.max(1, expected);
    this.seqs = new Float64Array(n);
    this.ts = new BigInt64Array(n);
    this.spans = new Int32Array(3 * n);
  }

  get records(): number {
    return this.count;
  }

  /** The last record's sequence and body (undefined for none). */
  get last(): { readonly sequence: number; readonly body: BodyBytes } | undefined {
    if (this.count === 0 || this.lastBody === null) return undefined;
    return { sequence: this.seqs[this.count - 1] as number, body: this.lastBody };
  }

  /** A body given as a string, placed in a chunk of this batch's own. */
  placeText(body: string): BodyBytes {
    this.arena ??= new BodyArena();
    return this.arena.placeText(body);
  }

  /**
   * A record and its body (the writer writes narrow rows only, and hashes the body). The
   * body's chunk is a Buffer over a whole ArrayBuffer (body-arena.ts).
   */
  addRecord(row: EventRow, body: BodyBytes): void {
    const i = this.count++;
    if (i === this.seqs.length) this.grow();
    this.seqs[i] = row.sequence;
    this.ts[i] = row.timestampNs;
    this.ids.push(row.id);
    this.actions.push(row.action);
    const end = body.at + body.length;
    if (body.chunk !== this.lastChunk) {
      this.lastChunk = body.chunk;
      this.chunks.push(body.chunk);
      this.starts.push(body.at - 1);
      this.ends.push(end);
    } else {
      const last = this.chunks.length - 1;
      if (body.at - 1 < (this.starts[last] as number)) this.starts[last] = body.at - 1;
      if (end > (this.ends[last] as number)) this.ends[last] = end;
    }
    this.spans[3 * i] = this.chunks.length - 1;
    this.spans[3 * i + 1] = body.at;
    this.spans[3 * i + 2] = body.length;
    this.lastBody = body;
  }

  pack(id: number, edge: TreeEdge | null): WriterBatch {
    const n = this.count;
    const parts = this.chunks.map((c, i) =>
      (c.buffer as ArrayBuffer).slice(this.starts[i] as number, this.ends[i] as number),
    );
    const spans = n * 3 === this.spans.length ? this.spans : this.spans.slice(0, 3 * n);
    for (let i = 0; i < spans.length; i += 3)
      (spans[i + 1] as number) -= this.starts[spans[i] as number] as number;
    return {
      id,
      seqs: n === this.seqs.length ? this.seqs : this.seqs.slice(0, n),
      ts: n === this.ts.length ? this.ts : this.ts.slice(0, n),
      ids: this.ids,
      actions: this.actions,
      chunks: parts,
      spans,
      edge,
    };
  }

  private grow(): void {
    const n = this.seqs.length * 2;
    const seqs = new Float64Array(n);
    seqs.set(this.seqs);
    this.seqs = seqs;
    const ts = new BigInt64Array(n);
    ts.set(this.ts);
    this.ts = ts;
    const spans = new Int32Array(3 * n);
    spans.set(this.spans);
    this.spans = spans;
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
  private inFlight: { readonly id: number; readonly done: WriterDone } | null = null;
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

  /**
   * Hands a batch to the writer, with the tree's edge before it (or none: leaves only);
   * `done` runs on this thread once it is committed or refused.
   */
  commit(batch: BatchCollector, edge: TreeEdge | null, done: WriterDone): void {
    if (this.inFlight !== null) throw new Error('a log batch is already in flight');
    if (this.failure !== null) {
      done(new WriterGoneError(this.failure), null);
      return;
    }
    const id = this.nextId++;
    const packed = batch.pack(id, edge);
    this.inFlight = { id, done };
    this.acks.ref();
    const transfer = [packed.seqs.buffer, packed.ts.buffer, packed.spans.buffer] as ArrayBuffer[];
    transfer.push(...packed.chunks);
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
    if (ack.error !== null) flight.done(new Error(ack.error), null);
    else flight.done(null, ack.landing ?? null);
  }

  private fail(detail: string): void {
    this.failure ??= detail;
    this.markReady();
    const flight = this.inFlight;
    if (flight === null) return;
    this.inFlight = null;
    this.acks.unref();
    flight.done(new WriterGoneError(this.failure), null);
  }
}
