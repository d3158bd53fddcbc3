/**
 * Publishes a node's committed records and checkpoints to JetStream. The publisher reads
 * from the store, never from the connection path: a commit only wakes it (one
 * setImmediate), and it reads the rows between its cursor and the store's end in batches.
 * At most `maxInFlight` records are unacknowledged; the durable cursor advances only over a
 * contiguous run of acknowledged sequences. On any publish failure (NATS down, timeout) it
 * rewinds to the cursor and resends from the store after a backoff, so an outage leaves no
 * gap; the msgID `<node>:<seq>` and the collector's (node, seq) idempotency remove the
 * duplicates a rewind makes.
 */
import type { JetStreamClient, NatsConnection } from 'nats';
import type { Logger } from 'pino';
import type { Recorder } from '../audit/recorder.js';
import { errorMessage } from '../errors.js';
import type { EventRow, Store } from '../store/index.js';
import { readCursor, writeCursor } from './cursor.js';
import { type ShipOptions, connectNats, ensureStream } from './stream.js';
import { checkpointsSubject, encodeCheckpoint, encodeRecord, recordsSubject } from './wire.js';

const READ_BATCH = 256;
const CURSOR_WRITE_MS = 200;
const MAX_BACKOFF_MS = 10_000;

export interface PublisherStats {
  /** Last sequence acknowledged by JetStream (-1 before the first). */
  readonly acked: number;
  readonly inFlight: number;
  readonly connected: boolean;
  readonly published: number;
  readonly failures: number;
}

export class Publisher {
  private readonly store: Store;
  private readonly node: string;
  private readonly dataDir: string;
  private readonly opts: ShipOptions;
  private readonly log: Logger;
  private nc: NatsConnection | null = null;
  private js: JetStreamClient | null = null;
  private acked: number;
  private nextToSend: number;
  private readonly done = new Set<number>();
  /** Bumped at each rewind; acks of an older generation still count, failures do not. */
  private generation = 0;
  private pumpScheduled = false;
  private retryTimer: NodeJS.Timeout | null = null;
  private cursorTimer: NodeJS.Timeout | null = null;
  private cursorWritten: number;
  private backoffMs = 250;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  private readonly notes = new Map<number, string>();
  private published = 0;
  private failures = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(store: Store, node: string, dataDir: string, opts: ShipOptions, log: Logger) {
    this.store = store;
    this.node = node;
    this.dataDir = dataDir;
    this.opts = opts;
    this.log = log;
    this.acked = readCursor(dataDir, node);
    this.cursorWritten = this.acked;
    this.nextToSend = this.acked + 1;
  }

  /** Wake on every commit of `recorder` and connect in the background. */
  start(recorder: Recorder): void {
    this.unsubscribe = recorder.onCommit(() => this.schedulePump());
    void this.connectLoop();
  }

  stats(): PublisherStats {
    return {
      acked: this.acked,
      inFlight: this.nextToSend - 1 - this.acked,
      connected: this.js !== null,
      published: this.published,
      failures: this.failures,
    };
  }

  /** Resolves once every record committed so far is acknowledged (or after `timeoutMs`). */
  async drain(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.acked < this.store.nextSequence() - 1) {
      if (Date.now() >= deadline) return false;
      this.schedulePump();
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 50);
        this.idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return true;
  }

  /** Try to ship what is committed for up to `deadlineMs`, save the cursor, disconnect. */
  async stop(deadlineMs = 2000): Promise<void> {
    if (this.stopped) return;
    if (this.js !== null) await this.drain(deadlineMs);
    this.stopped = true;
    this.unsubscribe?.();
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.cursorTimer) clearTimeout(this.cursorTimer);
    this.saveCursor();
    const nc = this.nc;
    this.nc = null;
    this.js = null;
    if (nc) await nc.close().catch(() => undefined);
  }

  private async connectLoop(): Promise<void> {
    while (!this.stopped) {
      try {
        const nc = await connectNats(this.opts.servers, `portwarden-${this.node}`, this.opts.token);
        if (this.stopped) {
          await nc.close();
          return;
        }
        this.nc = nc;
        await ensureStream(await nc.jetstreamManager(), this.opts.stream, this.opts.subjectPrefix, {
          maxAgeMs: this.opts.maxAgeMs,
          duplicateWindowMs: this.opts.duplicateWindowMs,
        });
        this.js = nc.jetstream();
        this.log.info({ servers: this.opts.servers, from: this.nextToSend }, 'shipping records');
        void nc.closed().then(() => {
          if (this.nc === nc) {
            this.nc = null;
            this.js = null;
            if (!this.stopped) void this.connectLoop();
          }
        });
        this.schedulePump();
        return;
      } catch (err) {
        this.log.warn({ err: errorMessage(err) }, 'NATS unavailable; shipping waits');
        const nc = this.nc;
        this.nc = null;
        if (nc) await nc.close().catch(() => undefined);
        await this.sleep(this.nextBackoff());
      }
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        resolve();
      }, ms);
      this.retryTimer.unref();
    });
  }

  private nextBackoff(): number {
    const ms = this.backoffMs;
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
    return ms;
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.stopped) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    const js = this.js;
    if (js === null || this.retryTimer !== null || this.stopped) return;
    const end = this.store.nextSequence();
    while (this.nextToSend < end) {
      const room = this.opts.maxInFlight - (this.nextToSend - 1 - this.acked);
      if (room <= 0) return;
      const to = Math.min(end, this.nextToSend + Math.min(room, READ_BATCH));
      // Materialize the batch: the store's connection must be free before publishing.
      const rows = [...this.store.iterate(this.nextToSend, to)];
      if (rows.length === 0) return;
      for (const row of rows) {
        if (row.sequence !== this.nextToSend) {
          this.log.error({ expected: this.nextToSend, got: row.sequence }, 'store has a gap');
          return;
        }
        this.publishRow(js, row);
        this.nextToSend++;
      }
    }
  }

  private publishRow(js: JetStreamClient, row: EventRow): void {
    const generation = this.generation;
    const note = row.action === 'checkpoint' ? this.noteOf(row) : null;
    const sends: Promise<unknown>[] = [];
    const timeout = this.opts.publishTimeoutMs;
    if (note !== null) {
      sends.push(
        js.publish(checkpointsSubject(this.opts.subjectPrefix, this.node), encodeCheckpoint(note), {
          msgID: `${this.node}:cp:${note.size}`,
          timeout,
        }),
      );
    }
    sends.push(
      js.publish(
        recordsSubject(this.opts.subjectPrefix, this.node),
        encodeRecord({
          node: this.node,
          sequence: row.sequence,
          timestampNs: row.timestampNs,
          leafHash: row.leafHash,
          body: row.body,
          note: note?.note ?? null,
        }),
        { msgID: `${this.node}:${row.sequence}`, timeout },
      ),
    );
    Promise.all(sends).then(
      () => this.onAck(row.sequence),
      (err: unknown) => this.onFailure(generation, err),
    );
  }

  /** The signed note a `checkpoint` record announces (by its `checkpoint.tree_size`). */
  private noteOf(row: EventRow): { node: string; size: number; note: string } | null {
    let size: unknown;
    try {
      const body = JSON.parse(row.body ?? 'null') as { checkpoint?: { tree_size?: unknown } };
      size = body?.checkpoint?.tree_size;
    } catch {
      return null;
    }
    if (typeof size !== 'number') return null;
    let note = this.notes.get(size);
    if (note === undefined) {
      this.notes.clear();
      for (const c of this.store.checkpoints()) if (c.size >= size) this.notes.set(c.size, c.note);
      note = this.notes.get(size);
    }
    if (note === undefined) return null;
    return { node: this.node, size, note };
  }

  private onAck(sequence: number): void {
    this.published++;
    this.backoffMs = 250;
    if (sequence <= this.acked) return;
    this.done.add(sequence);
    while (this.done.delete(this.acked + 1)) this.acked++;
    // A late ack from before a rewind can pass the resend point.
    if (this.nextToSend <= this.acked) this.nextToSend = this.acked + 1;
    this.scheduleCursorWrite();
    if (this.acked >= this.nextToSend - 1) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    this.schedulePump();
  }

  private onFailure(generation: number, err: unknown): void {
    if (generation !== this.generation || this.stopped) return;
    this.failures++;
    this.generation++;
    this.log.warn(
      { err: errorMessage(err), resumeFrom: this.acked + 1 },
      'publish failed; resending from the cursor after a pause',
    );
    this.nextToSend = this.acked + 1;
    this.done.clear();
    void this.sleep(this.nextBackoff()).then(() => this.schedulePump());
  }

  private scheduleCursorWrite(): void {
    if (this.cursorTimer !== null) return;
    this.cursorTimer = setTimeout(() => {
      this.cursorTimer = null;
      this.saveCursor();
    }, CURSOR_WRITE_MS);
    this.cursorTimer.unref();
  }

  private saveCursor(): void {
    if (this.acked === this.cursorWritten) return;
    try {
      writeCursor(this.dataDir, this.node, this.acked);
      this.cursorWritten = this.acked;
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'cannot write the ship cursor');
    }
  }
}
