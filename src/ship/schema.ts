/** The `ship:` config shape (docs/scale-out.md). */
import { z } from 'zod';
import { parseDurationMs } from '../config/address.js';
import { SHIP_DEFAULTS } from './stream.js';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 5s, 2m, 7d, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

const natsUrl = z
  .string()
  .regex(/^(nats|tls|wss?):\/\/\S+$/, 'expected a URL like nats://host:4222');

export const shipSchema = z.strictObject({
  /** One NATS URL or several (a cluster). */
  nats: z.union([natsUrl, z.array(natsUrl).min(1)]),
  stream: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, 'expected a stream name of letters, digits, _ and -')
    .default(SHIP_DEFAULTS.stream),
  subject_prefix: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'expected subject tokens like portwarden or a.b')
    .default(SHIP_DEFAULTS.subjectPrefix),
  max_in_flight: z.number().int().min(1).max(65_536).default(SHIP_DEFAULTS.maxInFlight),
  /** How long the stream keeps records no collector took (created with the stream). */
  max_age: duration.default(SHIP_DEFAULTS.maxAgeMs),
  duplicate_window: duration.default(SHIP_DEFAULTS.duplicateWindowMs),
  publish_timeout: duration.default(SHIP_DEFAULTS.publishTimeoutMs),
  /** Environment variable holding the NATS token, if the server wants one. */
  token_env: z.string().optional(),
});

export type ShipConfig = z.infer<typeof shipSchema>;
