/**
 * HTTP sinks: `webhook` POSTs the record's JSON (with `Idempotency-Key: <event.id>` so a
 * receiver can drop a redelivery); `slack` POSTs `{"text": …}` to a Slack-compatible
 * incoming webhook. Any non-2xx answer is a failed delivery.
 */
import type { JsonObject } from '../audit/event.js';
import { PortwardenError } from '../errors.js';
import { eventId } from './delivery.js';
import type { SlackSinkConfig, WebhookSinkConfig } from './schema.js';
import type { Transport } from './sink.js';
import { summaryLine } from './summary.js';

async function post(
  url: string,
  headers: Record<string, string>,
  body: string,
  timeoutMs: number,
): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  await response.arrayBuffer().catch(() => undefined);
  if (!response.ok) throw new Error(`HTTP ${response.status} from ${new URL(url).host}`);
}

function envValue(name: string, what: string): string {
  const value = process.env[name];
  if (value === undefined || value.length === 0)
    throw new PortwardenError('PW_ERR_CONFIG', {
      detail: `${what}: environment variable ${name} is not set`,
    });
  return value;
}

export function webhookTransport(config: WebhookSinkConfig): Transport {
  const headers: Record<string, string> = { ...config.headers };
  if (config.token_env !== undefined)
    headers.authorization = `Bearer ${envValue(config.token_env, `sinks ${config.name}.token_env`)}`;
  return {
    deliver(record: JsonObject): Promise<void> {
      const id = eventId(record);
      return post(
        config.url,
        id === null ? headers : { ...headers, 'idempotency-key': id },
        JSON.stringify(record),
        config.timeout,
      );
    },
  };
}

export function slackTransport(config: SlackSinkConfig): Transport {
  const url =
    config.url_env !== undefined
      ? envValue(config.url_env, `sinks ${config.name}.url_env`)
      : config.url;
  if (url === undefined)
    throw new PortwardenError('PW_ERR_CONFIG', { detail: `sinks ${config.name}: no url` });
  return {
    deliver(record: JsonObject): Promise<void> {
      return post(url, {}, JSON.stringify({ text: summaryLine(record) }), config.timeout);
    },
  };
}
