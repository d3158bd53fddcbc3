/**
 * The generic sink contract: alerts (and live record streams) are handed over as the
 * record's JSON; a sink delivers them somewhere with retry, de-duplication and a spill
 * file, so a record handed to `send` is delivered or kept on disk — never dropped.
 */
import type { JsonObject } from '../audit/event.js';

export interface SendOptions {
  /**
   * Records with the same key inside the sink's `dedup_window` are sent once. Default: the
   * record's `event.id` (the same record is never sent twice).
   */
  readonly dedupKey?: string;
}

export interface SinkStats {
  readonly delivered: number;
  readonly deduplicated: number;
  /** Records in memory waiting for delivery. */
  readonly queued: number;
  /** Records in the spill file waiting for the sink to come back. */
  readonly spilled: number;
  readonly failures: number;
  readonly lastError: string | null;
}

/** A named destination for records. */
export interface Sink {
  readonly name: string;
  readonly type: string;
  /** Hand over one record; returns at once (delivery is asynchronous). */
  send(record: JsonObject, options?: SendOptions): void;
  /** Resolves once every record sent so far was delivered or spilled to disk. */
  flush(): Promise<void>;
  /** Stop: what is not delivered is spilled, and replayed on the next start. */
  close(): Promise<void>;
  stats(): SinkStats;
}

/** How one sink type puts one record on the wire; throws when it was not accepted. */
export interface Transport {
  deliver(record: JsonObject): Promise<void>;
  /**
   * Records `deliver` accepted that the receiver has not confirmed yet and that must be
   * sent again (a stream that broke before its receiver read them), oldest first; taking
   * them hands them back to the sink, which spills them in front of what it holds.
   */
  takeUnconfirmed?(): JsonObject[];
  close?(): Promise<void>;
}
