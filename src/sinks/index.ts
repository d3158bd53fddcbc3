/** Alert and record sinks: webhook, Slack-compatible webhook, syslog, stdout (docs/alerts.md). */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { DeliverySink } from './delivery.js';
import type { SinkConfig } from './schema.js';
import type { Sink, Transport } from './sink.js';
import { stdoutTransport } from './stdout.js';
import { syslogTransport } from './syslog.js';
import { slackTransport, webhookTransport } from './webhook.js';

export type { SendOptions, Sink, SinkStats, Transport } from './sink.js';
export { DeliverySink, eventId, type DeliveryOptions } from './delivery.js';
export { SpillFile } from './spill.js';
export { formatSyslog, octetCountingFrame } from './syslog.js';
export { SyslogStreamTransport } from './syslog-stream.js';
export { summaryLine } from './summary.js';
export type { AlertsConfig, SinkConfig } from './schema.js';

function transportFor(config: SinkConfig, log?: Logger): Transport {
  switch (config.type) {
    case 'webhook':
      return webhookTransport(config);
    case 'slack':
      return slackTransport(config);
    case 'syslog':
      return syslogTransport(config, log);
    case 'stdout':
      return stdoutTransport();
    default: {
      const never: never = config;
      return never;
    }
  }
}

/** Build one sink from its config; spill files live in `<dataDir>/spill/`. */
export function createSink(
  config: SinkConfig,
  dataDir: string,
  log?: Logger,
  transport?: Transport,
): Sink {
  return new DeliverySink(transport ?? transportFor(config, log), {
    name: config.name,
    type: config.type,
    retryAttempts: config.retry_attempts,
    retryBackoffMs: config.retry_backoff,
    replayIntervalMs: config.replay_interval,
    dedupWindowMs: config.dedup_window,
    maxQueue: config.max_queue,
    spillDir: join(dataDir, 'spill'),
    ...(log ? { log } : {}),
  });
}

/** Every configured sink, by name. */
export function createSinks(
  configs: readonly SinkConfig[],
  dataDir: string,
  log?: Logger,
): Map<string, Sink> {
  return new Map(configs.map((c) => [c.name, createSink(c, dataDir, log)]));
}
