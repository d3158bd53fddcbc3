/**
 * The `syslog` sink: RFC 5424 messages over UDP (RFC 5426, one message per datagram), TCP
 * (RFC 6587 octet counting) or TLS (RFC 5425, octet counting). The MSG part is the record's
 * JSON; structured data names the record (`id`, `sequence`, `node`) so a collector can index
 * it, and drop a record sent twice, without parsing. TCP and TLS delivery: syslog-stream.ts.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { JsonObject } from '../audit/event.js';
import type { SyslogSinkConfig } from './schema.js';
import type { Transport } from './sink.js';
import { SyslogStreamTransport } from './syslog-stream.js';
import { numberField, stringField } from './summary.js';

/** Private enterprise number reserved for documentation (RFC 5612) — our SD-ID suffix. */
const SD_ID = 'portwarden@32473';

/** RFC 5424 §6.2.1 severities by alert severity; other records are informational (6). */
const SYSLOG_SEVERITY: Readonly<Record<string, number>> = {
  critical: 2,
  high: 3,
  medium: 4,
  low: 5,
};

export interface SyslogFormatOptions {
  readonly facility: number;
  readonly appName: string;
  readonly hostname?: string;
  readonly procId?: number;
}

/** One RFC 5424 message (without transport framing). */
export function formatSyslog(record: JsonObject, opts: SyslogFormatOptions): string {
  const severity = SYSLOG_SEVERITY[stringField(record, 'alert.severity') ?? ''] ?? 6;
  const pri = opts.facility * 8 + severity;
  const host = printable(
    stringField(record, 'observer.hostname') ?? opts.hostname ?? hostname(),
    255,
  );
  const msgId = printable(stringField(record, 'event.action') ?? '-', 32);
  const params: string[] = [];
  const id = stringField(record, 'event.id');
  const sequence = numberField(record, 'event.sequence');
  const node = stringField(record, 'observer.id');
  const alertSeverity = stringField(record, 'alert.severity');
  if (id !== null) params.push(`id="${sdEscape(id)}"`);
  if (sequence !== null) params.push(`sequence="${sequence}"`);
  if (node !== null) params.push(`node="${sdEscape(node)}"`);
  if (alertSeverity !== null) params.push(`severity="${sdEscape(alertSeverity)}"`);
  const sd = params.length === 0 ? '-' : `[${SD_ID} ${params.join(' ')}]`;
  const time = syslogTimestamp(stringField(record, '@timestamp'));
  return `<${pri}>1 ${time} ${host} ${printable(opts.appName, 48)} ${opts.procId ?? process.pid} ${msgId} ${sd} ${JSON.stringify(record)}`;
}

/** RFC 5424 TIME-SECFRAC allows at most 6 digits: nanosecond record times are cut to µs. */
function syslogTimestamp(timestamp: string | null): string {
  const text = timestamp ?? new Date().toISOString();
  return text.replace(/(\.\d{6})\d+Z$/, '$1Z');
}

/** PRINTUSASCII (33–126), at most `max` characters; `-` when empty (the NILVALUE). */
function printable(text: string, max: number): string {
  const cleaned = text.replace(/[^!-~]/g, '_').slice(0, max);
  return cleaned.length === 0 ? '-' : cleaned;
}

/** PARAM-VALUE escapes `"`, `\` and `]` — RFC 5424 §6.3.3. */
function sdEscape(text: string): string {
  return text.replace(/["\\\]]/g, (c) => `\\${c}`);
}

/** Octet-counting frame: `MSG-LEN SP SYSLOG-MSG` — RFC 6587 §3.4.1, RFC 5425 §4.3. */
export function octetCountingFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

export function syslogTransport(config: SyslogSinkConfig, log?: Logger): Transport {
  const format = { facility: config.facility, appName: config.app_name };
  if (config.transport === 'udp') return udpTransport(config, format);
  return new SyslogStreamTransport(
    config,
    (record) => octetCountingFrame(formatSyslog(record, format)),
    log,
  );
}

function udpTransport(config: SyslogSinkConfig, format: SyslogFormatOptions): Transport {
  const family = net.isIPv6(config.address.host) ? 'udp6' : 'udp4';
  let socket: dgram.Socket | null = null;
  return {
    deliver(record: JsonObject): Promise<void> {
      socket ??= dgram.createSocket(family).unref();
      const s = socket;
      const message = Buffer.from(formatSyslog(record, format), 'utf8');
      return new Promise((resolve, reject) => {
        s.send(message, config.address.port, config.address.host, (err) =>
          err ? reject(err) : resolve(),
        );
      });
    },
    close(): Promise<void> {
      socket?.close();
      socket = null;
      return Promise.resolve();
    },
  };
}
