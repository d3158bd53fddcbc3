/**
 * Values the command definitions show in --help (defaults, choices), copied from modules too
 * heavy to load just to define a command: NATS (ship/stream, ship/collector), zod
 * (ingest/schema), the central reader and the verify worker pool. Copies so that `--help`
 * and every other command start without them; test/integration/cli-startup.test.ts checks
 * that each still equals its source.
 */
import { availableParallelism } from 'node:os';

/** audit/verify-parallel.ts defaultVerifyThreads(): the cores, at most 8. */
export function defaultVerifyThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

/** ingest/schema.ts INGEST_FORMATS. */
export const INGEST_FORMATS = ['k8s-audit', 'auditd', 'conntrack'] as const;

/** ship/stream.ts SHIP_DEFAULTS: the ones `collect` offers as option defaults. */
export const SHIP_DEFAULTS = { stream: 'PORTWARDEN', subjectPrefix: 'portwarden' } as const;

/** ship/collector.ts COLLECTOR_DEFAULTS: the ones `collect` offers as option defaults. */
export const COLLECTOR_DEFAULTS = { durable: 'portwarden-collector', batch: 500 } as const;

/** The keys of ship/central-read.ts CENTRAL_GROUP_KEYS (`central search --group-by`). */
export const CENTRAL_GROUP_KEYS = [
  'node',
  'listener',
  'user',
  'source',
  'action',
  'outcome',
  'rule',
  'operation',
  'status',
  'db',
  'module',
  'hour',
] as const;
