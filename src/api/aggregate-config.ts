/**
 * The `dashboard:` config shape (docs/config.md): how the dashboard and the events API fold
 * repeats of the same statement (docs/search.md#aggregation). Records are never dropped or
 * sampled: folding only changes how a page of them is shown.
 */
import { z } from 'zod';
import { parseDurationMs } from '../config/address.js';

/** Shortest and longest fold window: a window is read whole to count it exactly. */
export const MIN_WINDOW_MS = 1000;
export const MAX_WINDOW_MS = 86_400_000;
export const MAX_MIN_REPEAT = 100_000;

const windowDuration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === null || ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration from 1s to 1d like 1m, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

export const aggregateSchema = z.strictObject({
  /** Offer `aggregate=statement` on GET /api/v1/events and the dashboard toggle. */
  enabled: z.boolean().default(true),
  /** Repeats inside one window fold into one row from this many on (fewer stay single rows). */
  min_repeat: z.number().int().min(1).max(MAX_MIN_REPEAT).default(2),
  /** Windows are aligned to the clock (1m: each minute); repeats fold within one window. */
  window: windowDuration.default(60_000),
  /** Most records one aggregate request reads (a window holding more is refused: narrow it). */
  max_scan: z.number().int().min(1000).max(10_000_000).default(200_000),
});

export const dashboardSchema = z.strictObject({
  aggregate: aggregateSchema.prefault({}),
});

export type AggregateConfig = z.infer<typeof aggregateSchema>;
export type DashboardConfig = z.infer<typeof dashboardSchema>;
