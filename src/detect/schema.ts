/**
 * The `detectors:` and `traps:` config shapes (docs/detectors.md). Every threshold has a
 * default; a detector is switched off with `enabled: false`.
 */
import { z } from 'zod';
import { parseDurationMs, parseHostPort } from '../config/address.js';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 30s, 5m, 7d, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

export const SEVERITIES = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
const severity = z.enum(SEVERITIES);

const positive = z.number().int().positive();

export const detectorsSchema = z.strictObject({
  enabled: z.boolean().default(true),
  /** After the store's first record, how long detectors only learn (no new-* firing). */
  learning: duration.default(7 * 86_400_000),
  /** How far back baselines are rebuilt from the store at start. */
  baseline_window: duration.default(14 * 86_400_000),
  /** The same detector and key fire at most once per cooldown. */
  cooldown: duration.default(600_000),
  /** Most keys any one detector remembers (oldest forgotten first). */
  max_keys: positive.default(100_000),
  /** IANA time zone for usual hours (default UTC). */
  timezone: z.string().default('UTC'),
  new_access: z
    .strictObject({ enabled: z.boolean().default(true), severity: severity.default('medium') })
    .prefault({}),
  off_hours: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Connections a listener needs in its baseline before its hours count as known. */
      min_samples: positive.default(50),
      severity: severity.default('medium'),
    })
    .prefault({}),
  denial_burst: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Denials or failed logins from one source within `window` that fire. */
      threshold: positive.default(10),
      window: duration.default(60_000),
      severity: severity.default('high'),
    })
    .prefault({}),
  port_scan: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Distinct listeners one source opens within `window` that fire. */
      listeners: positive.default(5),
      /** Distinct trap ports one source touches within `window` that fire. */
      traps: positive.default(1),
      window: duration.default(60_000),
      severity: severity.default('high'),
    })
    .prefault({}),
  volume: z
    .strictObject({
      enabled: z.boolean().default(true),
      /** Fires when a connection moves more than factor × the listener's median. */
      factor: z.number().positive().default(10),
      /** Connections a listener needs in its baseline first. */
      min_samples: positive.default(20),
      /** Never fire below these absolute amounts per connection. */
      min_bytes: positive.default(1_048_576),
      min_rows: positive.default(10_000),
      severity: severity.default('high'),
    })
    .prefault({}),
  new_statement_class: z
    .strictObject({ enabled: z.boolean().default(true), severity: severity.default('medium') })
    .prefault({}),
});

export const trapSchema = z.strictObject({
  name: z
    .string()
    .regex(
      /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/,
      'expected a name of letters, digits, _ . - (max 63)',
    ),
  listen: z.string().transform((value, ctx) => {
    const hp = parseHostPort(value);
    if (!hp) {
      ctx.addIssue({ code: 'custom', message: `expected host:port, got ${JSON.stringify(value)}` });
      return z.NEVER;
    }
    return hp;
  }),
});

export type DetectorsConfig = z.infer<typeof detectorsSchema>;
export type TrapConfig = z.infer<typeof trapSchema>;

/** The defaults, as if `detectors: {}` were written. */
export function defaultDetectorsConfig(): DetectorsConfig {
  return detectorsSchema.parse({});
}
