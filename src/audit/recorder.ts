/**
 * The Recorder turns event inputs into committed records: it stamps sequence, time and id,
 * serializes the canonical JSON, hashes the leaf and group-commits every record of one
 * event-loop turn in one transaction (strict mode) or within `flush_ms` (async mode) —
 * on the store's writer thread when it has one (the embedded store in a gateway), while
 * this thread goes on; that thread then also hashes the leaves and grows the Merkle tree.
 * A batch that fails to commit is kept, in order, and retried: no accepted record is
 * lost, and sequences stay gapless.
 */
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import {
  BodyArena,
  type BackgroundLanding,
  type BodyBytes,
  type EventRow,
  type Store,
} from '../store/index.js';
import { errorMessage } from '../errors.js';
import { AppendedRow, LEAF_LATER, NO_CONTEXT, type RecordContext } from './appended-row.js';
import { canonicalJsonAndLeaf, canonicalLeafInputInto, deepFreeze } from './canonical.js';
import { NanoClock, formatTimestampNs } from './clock.js';
import type { EventInput, JsonObject, JsonValue } from './event.js';
import { uuidv7 } from './ids.js';
import { HASH_SIZE, leafHash, prefixedLeafHash } from './merkle.js';
import type { TreeEdge } from './tree.js';

export { NO_CONTEXT, recordObjectOf, type RecordContext } from './appended-row.js';

/**
 * The Merkle tree the records' leaves go into (the Checkpointer's), as commits grow it:
 * leaf by leaf inside a commit on this thread, or by its edge for a commit on the store's
 * writer thread, which appends the leaves there and stores the nodes they complete.
 */
export interface RecordTree {
  /** A commit on this thread: each leaf in order, inside the transaction. */
  append(leafHash: Buffer, sequence: number): void;
  /** A commit on the writer thread starts from this edge. */
  edge(): TreeEdge;
  /** …and landed there: the tree goes on from the edge it reached. */
  adopt(edge: TreeEdge): void;
  /** A commit was rolled back, or landed unseen: rebuild from the store. */
  rebuild(): void;
}

export interface RecorderOptions {
  readonly mode: 'strict' | 'async';
  readonly flushMs: number;
  readonly observer: string;
  readonly log?: Logger;
  /** The Merkle tree of the log (none: the store keeps no tree nodes for these records). */
  readonly tree?: RecordTree;
  /** Most records kept in memory while the store is failing before new ones are refused. */
  readonly maxPending?: number;
}

export interface RecordRef {
  readonly id: string;
  readonly sequence: number;
}

type CommitListener = (rows: readonly EventRow[]) => void;

export class Recorder {
  private readonly store: Store;
  private readonly opts: RecorderOptions;
  private readonly clock: NanoClock;
  private readonly observer: JsonObject;
  private nextSeq: number;
  private pending: AppendedRow[] = [];
  /**
   * Where bodies are written as bytes when the store commits on its writer thread, which
   * also hashes the leaves then (null: bodies are strings, leaves hashed at append).
   */
  private readonly arena: BodyArena | null;
  /** Callbacks waiting for every record before sequence `upTo` to be committed. */
  private waiting: { readonly upTo: number; readonly fn: () => void }[] = [];
  /** Records at the head of `pending` that the store's writer thread is committing. */
  private inFlight = 0;
  /** Records before this sequence are committed. */
  private committedSize: number;
  private immediate = false;
  private flushTimer: NodeJS.Timeout | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private retryDelayMs = 250;
  private healthy = true;
  private readonly commitListeners = new Set<CommitListener>();
  private readonly healthListeners = new Set<(healthy: boolean, detail: string) => void>();
  private lastError = '';
  /** Records committed since start (for metrics). */
  committedCount = 0;

  constructor(store: Store, opts: RecorderOptions) {
    this.store = store;
    this.opts = opts;
    this.nextSeq = store.nextSequence();
    this.committedSize = this.nextSeq;
    this.clock = new NanoClock(store.lastTimestampNs());
    this.observer = deepFreeze({ hostname: hostname(), id: opts.observer });
    this.arena = store.commitsInBackground === true ? new BodyArena() : null;
  }

  get mode(): 'strict' | 'async' {
    return this.opts.mode;
  }

  /** False while the store refuses writes (strict mode then refuses new traffic). */
  isHealthy(): boolean {
    return this.healthy;
  }

  get lastStoreError(): string {
    return this.lastError;
  }

  /** True when the store has refused so much that new records must be refused too. */
  isFull(): boolean {
    return this.pending.length >= (this.opts.maxPending ?? 100_000);
  }

  nowNs(): bigint {
    return this.clock.now();
  }

  /** The sequence the next record will get. */
  get size(): number {
    return this.nextSeq;
  }

  /** Append one record; returns its id and sequence. It is durable after the next commit. */
  append(input: EventInput, ctx: RecordContext = NO_CONTEXT, extra?: JsonObject): RecordRef {
    const ts = this.clock.now();
    const sequence = this.nextSeq++;
    const id = uuidv7(Number(ts / 1_000_000n));
    const event = input.event;
    // { ...ctx.fields, ...extra, ...rest, '@timestamp', event: { ...event, kind, id,
    // sequence }, observer }, built by assignment: V8 takes a slow path for a literal that
    // adds members after a spread (2.3 µs for the event part alone, 0.06 µs this way).
    const ev: Record<string, JsonValue | undefined> = {};
    copyMembers(ev, event as unknown as JsonObject, null);
    ev.kind = event.kind ?? 'event';
    ev.id = id;
    ev.sequence = sequence;
    const record: Record<string, JsonValue | undefined> = {};
    copyMembers(record, ctx.fields, null);
    if (extra !== undefined) copyMembers(record, extra, null);
    copyMembers(record, input as unknown as JsonObject, 'event');
    record['@timestamp'] = formatTimestampNs(ts);
    record.event = ev as JsonObject;
    record.observer = this.observer;
    let body: string | BodyBytes;
    let leaf = LEAF_LATER;
    try {
      if (this.arena !== null) {
        canonicalLeafInputInto(record, this.arena);
        body = this.arena.placed;
      } else ({ body, leaf } = canonicalJsonAndLeaf(record, prefixedLeafHash));
    } catch (err) {
      // A value JSON cannot carry (NaN, a bigint in a Proxy…): no record, and no gap.
      this.nextSeq = sequence;
      throw err;
    }
    const row = new AppendedRow(sequence, ts, id, event, ctx, record as JsonObject, body, leaf);
    this.pending.push(row);
    this.schedule(false);
    return { id, sequence };
  }

  /** True when records are waiting to commit and strict mode requires waiting for them. */
  mustWait(): boolean {
    return this.opts.mode === 'strict' && this.pending.length > 0;
  }

  /** Run `fn` once every record appended so far is committed (at once if none is pending). */
  afterCommit(fn: () => void): void {
    if (this.pending.length === 0) {
      fn();
      return;
    }
    this.waiting.push({ upTo: this.nextSeq, fn });
    this.schedule(true);
  }

  /** Committed records, in order, after each commit (live tail, detectors, shipping). */
  onCommit(listener: CommitListener): () => void {
    this.commitListeners.add(listener);
    return () => this.commitListeners.delete(listener);
  }

  onHealth(listener: (healthy: boolean, detail: string) => void): () => void {
    this.healthListeners.add(listener);
    return () => this.healthListeners.delete(listener);
  }

  /**
   * A commit runs at the end of this loop turn when someone waits for it (strict mode holds
   * the bytes of an action until its record is committed) or 1000 records are pending;
   * otherwise within `flush_ms`, riding along with the next waited-for commit if one comes
   * first. So in strict mode an outcome record (db-result, redis-reply, connection-close),
   * which gates nothing, no longer costs a commit of its own: each commit pays for every
   * index page it dirties (~0.5–1 ms with the v2 indexes and FTS), and halving the commits
   * per statement raised strict pgbench/redis-benchmark rates (docs/benchmarks.md).
   */
  private schedule(urgent: boolean): void {
    if (this.retryTimer !== null) return;
    if (urgent || this.pending.length >= 1000) {
      if (this.immediate) return;
      this.immediate = true;
      setImmediate(this.flushNow);
    } else if (this.flushTimer === null && !this.immediate) {
      this.flushTimer = setTimeout(this.flushNow, this.opts.flushMs);
      this.flushTimer.unref();
    }
  }

  private readonly flushNow = (): void => {
    this.immediate = false;
    if (this.flushTimer !== null) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.commitPending();
  };

  /**
   * A scheduled commit: on the store's writer thread when it takes the batch (the loop goes
   * on serving traffic meanwhile; `landed` finishes it), else here. While a batch is in
   * flight, records gather in `pending` and go in the next one.
   */
  private commitPending(): void {
    if (this.inFlight > 0 || this.pending.length === 0) return;
    const rows = this.pending;
    const n = rows.length;
    // Set first: a store that refuses at once calls `landed` before returning.
    this.inFlight = n;
    let started: boolean;
    try {
      started =
        this.store.transactionInBackground?.(
          n,
          () => {
            for (let i = 0; i < n; i++) {
              const row = rows[i] as AppendedRow;
              this.store.insertEvent(row, AppendedRow.bodyBytesOf(row));
            }
          },
          (err, landing) => this.landed(n, err, landing),
          this.opts.tree?.edge(),
        ) ?? false;
    } catch (err) {
      this.inFlight = 0;
      this.refused(err);
      return;
    }
    if (!started) {
      this.inFlight = 0;
      this.flush();
    }
  }

  /** The rows, in order, into the store and the tree (inside a transaction on this thread). */
  private writeRows(rows: readonly AppendedRow[]): void {
    for (const row of rows) {
      if (row.leafHash.length === 0) row.leafHash = leafHash(row.body);
      this.store.insertEvent(row);
      this.opts.tree?.append(row.leafHash, row.sequence);
    }
  }

  /** The writer thread's answer for the first `n` pending records. */
  private landed(n: number, err: Error | null, landing: BackgroundLanding | null): void {
    this.inFlight = 0;
    if (err !== null) {
      this.refused(err);
      return;
    }
    const batch = this.pending.slice(0, n);
    this.pending = this.pending.length === n ? [] : this.pending.slice(n);
    if (landing === null) {
      // Committed by a writer lost before it answered: the leaves are hashed here again, the
      // tree is read back from the store.
      for (const row of batch) row.leafHash = leafHash(row.body);
      this.opts.tree?.rebuild();
    } else {
      const { leaves } = landing;
      for (let i = 0; i < batch.length; i++) {
        const at = leaves.byteOffset + i * HASH_SIZE;
        (batch[i] as AppendedRow).leafHash = Buffer.from(leaves.buffer, at, HASH_SIZE);
      }
      if (landing.edge !== null) this.opts.tree?.adopt(landing.edge);
      else this.opts.tree?.rebuild();
    }
    this.committed(batch);
    if (this.pending.length > 0) this.schedule(this.waiting.length > 0);
  }

  /** Commit everything pending now. Returns false when the store refused (kept for retry). */
  flush(): boolean {
    // A batch on the writer thread lands first (its `landed` runs now).
    if (this.inFlight > 0) this.store.settleBackground?.();
    if (this.pending.length === 0) return true;
    const batch = this.pending;
    try {
      this.store.transaction(() => this.writeRows(batch));
    } catch (err) {
      this.refused(err);
      return false;
    }
    this.pending = [];
    this.committed(batch);
    return true;
  }

  /** After `batch`, the oldest pending records, was committed: listeners, then waiters. */
  private committed(batch: readonly EventRow[]): void {
    const last = batch[batch.length - 1];
    if (last !== undefined) this.committedSize = last.sequence + 1;
    this.committedCount += batch.length;
    if (!this.healthy) this.setHealthy(true, 'store accepts records again');
    this.retryDelayMs = 250;
    for (const listener of this.commitListeners) {
      try {
        listener(batch);
      } catch (err) {
        this.opts.log?.error({ err: errorMessage(err) }, 'commit listener failed');
      }
    }
    if (this.waiting.length === 0) return;
    const ready = this.waiting.filter((w) => w.upTo <= this.committedSize);
    if (ready.length === this.waiting.length) this.waiting = [];
    else this.waiting = this.waiting.filter((w) => w.upTo > this.committedSize);
    for (const w of ready) w.fn();
  }

  /** A commit was refused and rolled back: state kept beside the store is rebuilt, then retried. */
  private refused(err: unknown): void {
    this.opts.tree?.rebuild();
    this.onStoreFailure(err);
  }

  private onStoreFailure(err: unknown): void {
    this.lastError = errorMessage(err);
    if (this.healthy) this.setHealthy(false, this.lastError);
    this.opts.log?.error(
      { err: this.lastError, pending: this.pending.length },
      'AUDIT STORE REFUSED A COMMIT: records are kept in memory and retried; new traffic is refused in strict mode',
    );
    if (this.retryTimer === null) {
      this.retryTimer = setTimeout(() => {
        this.retryTimer = null;
        this.flush();
        if (this.pending.length > 0) this.schedule(this.waiting.length > 0);
      }, this.retryDelayMs);
      this.retryTimer.unref();
      this.retryDelayMs = Math.min(this.retryDelayMs * 2, 5000);
    }
  }

  private setHealthy(healthy: boolean, detail: string): void {
    this.healthy = healthy;
    for (const l of this.healthListeners) l(healthy, detail);
  }

  /** Flush and stop retrying (shutdown). Returns false if records could not be committed. */
  close(): boolean {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.retryTimer = null;
    this.flushTimer = null;
    return this.flush();
  }
}

/**
 * Own enumerable members of `from` onto `to`, as a spread copies them (later ones win);
 * `__proto__` is defined, not assigned, so that it stays a member as in a spread.
 */
function copyMembers(
  to: Record<string, JsonValue | undefined>,
  from: JsonObject,
  skip: string | null,
): void {
  // A plain object's `for…in` is Object.keys without the array (garbage on every record).
  if (Object.getPrototypeOf(from) === Object.prototype) {
    for (const key in from) {
      if (key === skip) continue;
      if (key === '__proto__') defineMember(to, key, from[key]);
      else to[key] = from[key];
    }
    return;
  }
  const keys = Object.keys(from);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (key === skip) continue;
    if (key === '__proto__') defineMember(to, key, from[key]);
    else to[key] = from[key];
  }
}

/** Defines `key` as an own member, as a spread does (assigning `__proto__` would not). */
function defineMember(to: object, key: string, value: JsonValue | undefined): void {
  Object.defineProperty(to, key, { value, enumerable: true, writable: true, configurable: true });
}
