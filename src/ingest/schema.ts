/** The `sources:` config shape: log files the gateway tails and ingests (docs/ingest.md). */
import { z } from 'zod';
import { parseDurationMs } from '../config/address.js';

export const INGEST_FORMATS = ['k8s-audit', 'auditd', 'conntrack'] as const;
export type IngestFormat = (typeof INGEST_FORMATS)[number];

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 500ms, 1s, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

export const sourceSchema = z.strictObject({
  format: z.enum(INGEST_FORMATS),
  path: z.string().min(1),
  /** How often the file is checked for new lines. */
  poll: duration.default(1000),
  /** Where to begin the first time (later: the remembered offset). */
  from: z.enum(['start', 'end']).default('end'),
});

export const sourcesSchema = z.array(sourceSchema);
export type SourceConfig = z.infer<typeof sourceSchema>;
