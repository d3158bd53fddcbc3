/**
 * DeliverySink: the one delivery discipline every sink type shares. Records wait in a
 * bounded memory queue and are delivered in order, each tried `retry_attempts` times with
 * doubling backoff. When a record still fails, it and everything behind it go to the spill
 * file, and so does every later record until a replay (every `replay_interval`) has
 * emptied the file — so order is kept and nothing is dropped while the sink is down.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { JsonObject } from '../audit/event.js';
import { errorMessage } from '../errors.js';
import type { SendOptions, Sink, SinkStats, Transport } from './sink.js';
import { SpillFile } from './spill.js';

export interface DeliveryOptions {
  readonly name: string;
  readonly type: string;
  readonly retryAttempts: number;
  readonly retryBackoffMs: number;
  readonly replayIntervalMs: number;
  readonly dedupWindowMs: number;
  readonly maxQueue: number;
  /** Directory of spill files (`<data_dir>/spill`). */
  readonly spillDir: string;
  readonly log?: Logger;
}

/** De-duplication keys remembered at most; expired ones are dropped first. */
const MAX_DEDUP_KEYS = 100_000;

export class DeliverySink implements Sink {
  readonly name: string;
  readonly type: string;
  private readonly opts: DeliveryOptions;
  private readonly transport: Transport;
  private readonly spill: SpillFile;
  private queue: JsonObject[] = [];
  private readonly dedup = new Map<string, number>();
  private pumping: Promise<void> | null = null;
  private replayTimer: NodeJS.Timeout | null = null;
  private closed = false;
  private delivered = 0;
  private deduplicated = 0;
  private failures = 0;
  private lastError: string | null = null;

  constructor(transport: Transport, opts: DeliveryOptions) {
    this.transport = transport;
    this.opts = opts;
    this.name = opts.name;
    this.type = opts.type;
    this.spill = new SpillFile(join(opts.spillDir, `${opts.name}.ndjson`));
    if (this.spill.size > 0) this.scheduleReplay(0);
  }

  send(record: JsonObject, options: SendOptions = {}): void {
    const key = options.dedupKey ?? eventId(record);
    if (key !== null && this.isDuplicate(key)) {
      this.deduplicated++;
      return;
    }
    // While anything is spilled (or being replayed), new records queue behind it on disk.
    if (
      this.closed ||
      this.spill.size > 0 ||
      this.replaying ||
      this.queue.length >= this.opts.maxQueue
    ) {
      this.spill.append([JSON.stringify(record)]);
      if (!this.closed) this.scheduleReplay(this.opts.replayIntervalMs);
      return;
    }
    this.queue.push(record);
    this.pump();
  }

  async flush(): Promise<void> {
    while (this.pumping !== null) await this.pumping;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.replayTimer !== null) clearTimeout(this.replayTimer);
    this.replayTimer = null;
    await this.flush();
    while (this.replayRun !== null) await this.replayRun;
    await this.transport.close?.();
    // What the receiver did not confirm is older than anything else waiting: in front.
    this.spill.prepend(this.takeUnconfirmed());
    if (this.queue.length > 0) this.spill.append(this.queue.map((r) => JSON.stringify(r)));
    this.queue = [];
  }

  /** Records the transport accepted but its receiver did not confirm, as spill lines. */
  private takeUnconfirmed(): string[] {
    return (this.transport.takeUnconfirmed?.() ?? []).map((r) => JSON.stringify(r));
  }

  stats(): SinkStats {
    return {
      delivered: this.delivered,
      deduplicated: this.deduplicated,
      queued: this.queue.length,
      spilled: this.spill.size,
      failures: this.failures,
      lastError: this.lastError,
    };
  }

  private isDuplicate(key: string): boolean {
    const window = this.opts.dedupWindowMs;
    if (window <= 0) return false;
    const now = Date.now();
    const until = this.dedup.get(key);
    if (until !== undefined && until > now) return true;
    if (this.dedup.size >= MAX_DEDUP_KEYS) {
      for (const [k, expiry] of this.dedup) if (expiry <= now) this.dedup.delete(k);
      // Still full of live keys: forget the oldest (Map keeps insertion order).
      for (const k of this.dedup.keys()) {
        if (this.dedup.size < MAX_DEDUP_KEYS) break;
        this.dedup.delete(k);
      }
    }
    this.dedup.delete(key);
    this.dedup.set(key, now + window);
    return false;
  }

  private pump(): void {
    if (this.pumping !== null) return;
    this.pumping = this.drainQueue().finally(() => {
      this.pumping = null;
    });
  }

  private async drainQueue(): Promise<void> {
    for (;;) {
      const record = this.queue[0];
      if (record === undefined) return;
      if (this.closed) return; // close() spills the rest
      if (await this.deliverWithRetry(record)) {
        this.queue.shift();
        continue;
      }
      // The sink is down: keep the queue, in order, on disk until a replay succeeds —
      // behind what the receiver left unconfirmed, which is older.
      this.spill.prepend(this.takeUnconfirmed());
      this.spill.append(this.queue.map((r) => JSON.stringify(r)));
      this.queue = [];
      this.scheduleReplay(this.opts.replayIntervalMs);
      return;
    }
  }

  private async deliverWithRetry(record: JsonObject): Promise<boolean> {
    let wait = this.opts.retryBackoffMs;
    for (let attempt = 1; ; attempt++) {
      if (await this.tryDeliver(record)) return true;
      if (attempt >= this.opts.retryAttempts || this.closed) return false;
      await delay(wait);
      wait *= 2;
    }
  }

  private async tryDeliver(record: JsonObject): Promise<boolean> {
    try {
      await this.transport.deliver(record);
      this.delivered++;
      return true;
    } catch (err) {
      this.failures++;
      this.lastError = errorMessage(err);
      this.opts.log?.warn({ sink: this.name, err: this.lastError }, 'sink delivery failed');
      return false;
    }
  }

  private replaying = false;
  private replayRun: Promise<void> | null = null;

  private scheduleReplay(ms: number): void {
    if (this.replayTimer !== null || this.closed) return;
    this.replayTimer = setTimeout(() => {
      this.replayTimer = null;
      this.replayRun = this.replay()
        .catch((err: unknown) => {
          this.lastError = errorMessage(err);
          this.opts.log?.error({ sink: this.name, err: this.lastError }, 'spill replay failed');
          this.scheduleReplay(this.opts.replayIntervalMs);
        })
        .finally(() => {
          this.replayRun = null;
        });
    }, ms);
    this.replayTimer.unref();
  }

  /** Deliver the spill file in order, one try per record; stop at the first failure. */
  private async replay(): Promise<void> {
    if (this.replaying) return;
    await this.flush();
    this.replaying = true;
    try {
      for (;;) {
        const lines = this.spill.take();
        if (lines.length === 0) return;
        for (let i = 0; i < lines.length; i++) {
          const record = parseLine(lines[i] ?? '');
          if (record === null) {
            this.opts.log?.error({ sink: this.name }, 'unreadable line in spill file skipped');
            continue;
          }
          if (this.closed || !(await this.tryDeliver(record))) {
            this.spill.giveBack([...this.takeUnconfirmed(), ...lines.slice(i)]);
            if (!this.closed) this.scheduleReplay(this.opts.replayIntervalMs);
            return;
          }
        }
        this.spill.done();
      }
    } finally {
      this.replaying = false;
    }
  }
}

function parseLine(line: string): JsonObject | null {
  try {
    const value: unknown = JSON.parse(line);
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as JsonObject)
      : null;
  } catch {
    return null;
  }
}

/** `event.id` of a record, when it has one. */
export function eventId(record: JsonObject): string | null {
  const event = record.event;
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return null;
  return typeof event.id === 'string' ? event.id : null;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
