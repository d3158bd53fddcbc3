/**
 * The window and buckets of `GET /api/v1/stats`, shared by the gateway's API and the
 * central one: since/until (default the last hour), an interval (default window / 60, at
 * least 1s) and at most MAX_BUCKETS buckets.
 */
import { parseDurationMs } from '../config/index.js';
import { PortwardenError } from '../errors.js';
import { parseTimeParam } from './filters.js';

const MAX_BUCKETS = 2000;

/** The query parameters both stats routes take (the central one adds `node`). */
export const STATS_QUERY_PROPERTIES = {
  since: { type: 'string', description: 'window start (default 1h)' },
  until: { type: 'string', description: 'window end (default now)' },
  interval: {
    type: 'string',
    description: 'bucket width like 1m (default: window / 60)',
  },
  action: { type: 'string', description: 'actions counted (default connection-open)' },
  listener: { type: 'string', description: 'only this listener' },
} as const;

export interface StatsWindow {
  readonly sinceNs: bigint;
  readonly untilNs: bigint;
  readonly intervalMs: number;
  readonly intervalNs: bigint;
  /** Number of buckets. */
  readonly count: number;
}

function bad(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_QUERY', { detail });
}

export function parseStatsWindow(q: Readonly<Record<string, string | undefined>>): StatsWindow {
  const nowNs = BigInt(Date.now()) * 1_000_000n;
  const untilNs = q.until !== undefined ? parseTimeParam('until', q.until) : nowNs;
  const sinceNs =
    q.since !== undefined ? parseTimeParam('since', q.since) : untilNs - 3_600_000_000_000n;
  if (untilNs <= sinceNs) throw bad('until must be after since');
  const spanMs = Number((untilNs - sinceNs) / 1_000_000n);
  let intervalMs = Math.max(1000, Math.ceil(spanMs / 60));
  if (q.interval !== undefined) {
    const ms = parseDurationMs(q.interval);
    if (ms === null || ms < 1000)
      throw bad(`interval: expected a duration of 1s or more, got ${JSON.stringify(q.interval)}`);
    intervalMs = ms;
  }
  const count = Math.ceil(spanMs / intervalMs);
  if (count > MAX_BUCKETS) throw bad(`interval: ${count} buckets is more than ${MAX_BUCKETS}`);
  return { sinceNs, untilNs, intervalMs, intervalNs: BigInt(intervalMs) * 1_000_000n, count };
}
