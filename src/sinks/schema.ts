/**
 * The `sinks:` and `alerts:` config shapes (docs/alerts.md): named destinations for alert
 * records (and, later, live record streams), each with bounded retry, a de-duplication
 * window and a spill file in the data dir.
 */
import { z } from 'zod';
import { parseDurationMs, parseHostPort } from '../config/address.js';

const duration = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === null) {
    ctx.addIssue({
      code: 'custom',
      message: `expected a duration like 30s, 5m, got ${JSON.stringify(value)}`,
    });
    return z.NEVER;
  }
  return ms;
});

const hostPort = z.string().transform((value, ctx) => {
  const hp = parseHostPort(value);
  if (!hp) {
    ctx.addIssue({ code: 'custom', message: `expected host:port, got ${JSON.stringify(value)}` });
    return z.NEVER;
  }
  return hp;
});

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http(s) URL' });

const sinkName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'expected a name of letters, digits, _ . - (max 63)');

/** Delivery settings every sink shares. */
const delivery = {
  name: sinkName,
  /** Tries per record before it goes to the spill file (first try included). */
  retry_attempts: z.number().int().min(1).max(20).default(3),
  /** Wait before the first retry; doubles per retry. */
  retry_backoff: duration.default(500),
  /** How often a sink with a non-empty spill file is tried again. */
  replay_interval: duration.default(30_000),
  /** Records with the same de-duplication key inside this window are sent once (0: off). */
  dedup_window: duration.default(600_000),
  /** Most records waiting in memory; beyond it they go to the spill file. */
  max_queue: z.number().int().min(1).max(1_000_000).default(10_000),
  timeout: duration.default(10_000),
};

export const webhookSinkSchema = z.strictObject({
  ...delivery,
  type: z.literal('webhook'),
  url: httpUrl,
  /** Extra request headers (never secrets: use `token_env`). */
  headers: z.record(z.string(), z.string()).default({}),
  /** Environment variable holding a bearer token sent as Authorization. */
  token_env: z.string().optional(),
});

export const slackSinkSchema = z.strictObject({
  ...delivery,
  type: z.literal('slack'),
  /** The incoming-webhook URL; prefer `url_env` (the URL is a secret). */
  url: httpUrl.optional(),
  url_env: z.string().optional(),
});

export const syslogSinkSchema = z.strictObject({
  ...delivery,
  type: z.literal('syslog'),
  address: hostPort,
  transport: z.enum(['udp', 'tcp', 'tls']).default('udp'),
  /** RFC 5424 facility number (default 13, log audit). */
  facility: z.number().int().min(0).max(23).default(13),
  app_name: z
    .string()
    .regex(/^[!-~]{1,48}$/)
    .default('portwarden'),
  /** PEM CA file for `transport: tls` (default: the system's). */
  ca: z.string().optional(),
  /**
   * TCP/TLS: records sent since the receiver last confirmed what it read. Every this many
   * records the sink ends the connection and waits for the receiver to close its side
   * (it has then read everything); what a broken connection left unconfirmed is sent again.
   * 0: no confirmation, nothing sent again (records in a dropped connection can be lost).
   */
  resend_window: z.number().int().min(0).max(100_000).default(1000),
});

export const stdoutSinkSchema = z.strictObject({
  ...delivery,
  type: z.literal('stdout'),
});

export const sinkSchema = z.discriminatedUnion('type', [
  webhookSinkSchema,
  slackSinkSchema,
  syslogSinkSchema,
  stdoutSinkSchema,
]);

export const sinksSchema = z.array(sinkSchema).superRefine((sinks, ctx) => {
  const seen = new Set<string>();
  sinks.forEach((s, i) => {
    if (seen.has(s.name))
      ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate sink name ${s.name}` });
    seen.add(s.name);
    if (s.type === 'slack' && s.url === undefined && s.url_env === undefined)
      ctx.addIssue({ code: 'custom', path: [i], message: 'a slack sink needs url or url_env' });
  });
});

export const alertsSchema = z.strictObject({
  /** Sink names alerts go to (default: every sink). */
  sinks: z.array(sinkName).optional(),
  /** Alerts below this severity are recorded but not sent. */
  min_severity: z.enum(['low', 'medium', 'high', 'critical']).default('low'),
});

/** `records:` — every committed record (optionally only some actions) streamed to sinks. */
export const recordsSchema = z.strictObject({
  /** Sink names that receive every committed record (default: none). */
  sinks: z.array(sinkName).default([]),
  /** Only these `event.action`s (default: all). */
  actions: z.array(z.string()).optional(),
});

export type RecordsConfig = z.infer<typeof recordsSchema>;
export type SinkConfig = z.infer<typeof sinkSchema>;
export type WebhookSinkConfig = z.infer<typeof webhookSinkSchema>;
export type SlackSinkConfig = z.infer<typeof slackSinkSchema>;
export type SyslogSinkConfig = z.infer<typeof syslogSinkSchema>;
export type AlertsConfig = z.infer<typeof alertsSchema>;
