/**
 * Header injection toward the target (listener option `forwarded`): RFC 7239 `Forwarded`,
 * the de-facto `X-Forwarded-*` trio, and a request-id header carrying the http-request
 * record's `event.id`. Only the head is rewritten; incoming copies of the injected fields are
 * dropped because a client could forge them.
 */
import { PortwardenError } from '../../errors.js';
import { headerValue } from './framing.js';
import { isToken } from './head-parser.js';
import type { RequestHead } from './messages.js';

/** Validated `extra.forwarded` of a listener. */
export interface ForwardedOptions {
  readonly forwarded: boolean;
  readonly xForwarded: boolean;
  /** Lower-cased for matching; written as configured. */
  readonly requestIdHeader?: string;
}

/** Reads `extra.forwarded`; undefined when nothing is to be injected. */
export function forwardedOptions(
  extra: Readonly<Record<string, unknown>>,
): ForwardedOptions | undefined {
  const raw = extra['forwarded'];
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object')
    throw new PortwardenError('PW_ERR_CONFIG', { detail: 'forwarded must be an object' });
  const fields = new Map<string, unknown>(Object.entries(raw));
  const get = (key: string): unknown => fields.get(key);
  const forwarded = get('forwarded') === true;
  const xForwarded = get('x_forwarded') === true;
  const requestId = get('request_id_header');
  if (requestId !== undefined && (typeof requestId !== 'string' || !isToken(requestId))) {
    throw new PortwardenError('PW_ERR_CONFIG', {
      detail: 'forwarded.request_id_header must be a header name',
    });
  }
  if (!forwarded && !xForwarded && requestId === undefined) return undefined;
  return {
    forwarded,
    xForwarded,
    ...(requestId === undefined ? {} : { requestIdHeader: requestId }),
  };
}

/** `for=` node of RFC 7239 §6: quoted because of the port; IPv6 inside brackets. */
export function forwardedFor(ip: string, port: number): string {
  return ip.includes(':') ? `"[${ip}]:${port}"` : `"${ip}:${port}"`;
}

function isStripped(
  name: string,
  options: ForwardedOptions,
  requestIdLower: string | undefined,
): boolean {
  if (name === requestIdLower) return true;
  if (!options.forwarded && !options.xForwarded) return false;
  return name === 'forwarded' || name.startsWith('x-forwarded-');
}

/** The listener port the client addressed, as far as the Host header says (80 when absent). */
function addressedPort(head: RequestHead): number {
  const m = /:([0-9]{1,5})$/.exec(headerValue(head.headers, 'host') ?? '');
  return m === null ? 80 : Number(m[1]);
}

/** The head with client-sent forwarding fields removed and ours appended before the empty line. */
export function rewriteHead(
  head: RequestHead,
  options: ForwardedOptions,
  client: { readonly ip: string; readonly port: number },
  requestId: string,
): Buffer {
  const lines: string[] = [];
  if (options.forwarded)
    lines.push(`Forwarded: for=${forwardedFor(client.ip, client.port)};proto=http`);
  if (options.xForwarded) {
    lines.push(
      `X-Forwarded-For: ${client.ip}`,
      `X-Forwarded-Port: ${addressedPort(head)}`,
      'X-Forwarded-Proto: http',
    );
  }
  if (options.requestIdHeader !== undefined) lines.push(`${options.requestIdHeader}: ${requestId}`);
  const added = Buffer.from(lines.map((l) => `${l}\r\n`).join(''), 'latin1');
  const requestIdLower = options.requestIdHeader?.toLowerCase();
  const raw = head.raw;
  const kept: [number, number][] = [[0, head.fieldsStart]];
  let keptBytes = head.fieldsStart;
  for (const h of head.headers) {
    if (isStripped(h.name, options, requestIdLower)) continue;
    const last = kept[kept.length - 1];
    if (last !== undefined && last[1] === h.lineStart) last[1] = h.lineEnd;
    else kept.push([h.lineStart, h.lineEnd]);
    keptBytes += h.lineEnd - h.lineStart;
  }
  const out = Buffer.allocUnsafe(keptBytes + added.length + 2);
  let at = 0;
  for (const [s, e] of kept) at += raw.copy(out, at, s, e);
  at += added.copy(out, at);
  out[at++] = 0x0d;
  out[at] = 0x0a;
  return out;
}
