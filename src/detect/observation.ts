/**
 * What detectors see of one committed record: its indexed columns (cheap) and, only when a
 * detector needs a field that is not indexed, its parsed body (parsed once, shared).
 */
import type { JsonObject, JsonValue } from '../audit/event.js';
import { recordObjectOf } from '../audit/recorder.js';
import type { EventRow } from '../store/index.js';
import type { Severity } from './schema.js';

/** replay: rebuilding baselines at start (never fires); learning: inside the learning period. */
export type Phase = 'replay' | 'learning' | 'live';

export class Observation {
  readonly row: EventRow;
  readonly timeMs: number;
  private parsed: JsonObject | null | undefined;

  constructor(row: EventRow) {
    this.row = row;
    this.timeMs = Number(row.timestampNs / 1_000_000n);
  }

  /** The record's JSON (null when pruned or unreadable). */
  body(): JsonObject | null {
    if (this.parsed === undefined) {
      // A record this process appended is still in memory: no need to parse its body.
      const own = recordObjectOf(this.row);
      if (own !== undefined && this.row.body !== null) {
        this.parsed = own as JsonObject;
        return this.parsed;
      }
      this.parsed = null;
      if (this.row.body !== null) {
        try {
          const value: unknown = JSON.parse(this.row.body);
          if (value !== null && typeof value === 'object' && !Array.isArray(value))
            this.parsed = value as JsonObject;
        } catch {
          this.parsed = null;
        }
      }
    }
    return this.parsed;
  }

  /** A field of the body by dotted path. */
  field(path: string): JsonValue | undefined {
    let cur: JsonValue | undefined = this.body() ?? undefined;
    for (const key of path.split('.')) {
      if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur))
        return undefined;
      cur = cur[key];
    }
    return cur;
  }

  numberField(path: string): number | null {
    const v = this.field(path);
    return typeof v === 'number' && Number.isFinite(v) ? v : null;
  }

  stringField(path: string): string | null {
    const v = this.field(path);
    return typeof v === 'string' ? v : null;
  }
}

/** One detector firing, before it becomes an `anomaly-<detector>` record. */
export interface Firing {
  readonly detector: string;
  /** What the cooldown and the sinks' de-duplication key on (e.g. the source IP). */
  readonly key: string;
  readonly severity: Severity;
  readonly reason: string;
  /** `event.id`s of the records behind the firing. */
  readonly related: readonly string[];
  readonly sourceIp: string | null;
  readonly listener: string | null;
  readonly user: string | null;
  /** Detector-specific facts, under `alert.facts`. */
  readonly facts?: JsonObject;
}

export interface Detector {
  readonly name: string;
  /** Update state with one record; return a firing when it is anomalous in this phase. */
  observe(observation: Observation, phase: Phase): Firing | null;
}

/** Access actions whose `outcome: failure` means policy (or a limit) refused it. */
export const ACCESS_ACTIONS: ReadonlySet<string> = new Set([
  'connection-open',
  'db-query',
  'redis-command',
  'http-request',
]);
