/**
 * The only HTTP bytes portwarden writes itself: a 403 for a policy denial, a 503 with
 * `Retry-After` while the audit store is unavailable, and the status a server answers
 * malformed input with (400, 414, 431, 501, 505; 502 for a broken response from the target;
 * 408 for a request head not sent in time). Everything else is forwarded as it arrived.
 */
import type { Decision } from '../../policy/action.js';

const REASONS: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  403: 'Forbidden',
  408: 'Request Timeout',
  414: 'URI Too Long',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  505: 'HTTP Version Not Supported',
};

/** Seconds a client is asked to wait (`Retry-After`) while the audit store is unavailable. */
export const STORE_RETRY_AFTER_SECONDS = 5;

function response(
  status: number,
  body: string,
  close: boolean,
  omitBody: boolean,
  extraHeaders = '',
): Buffer {
  const payload = Buffer.from(body, 'utf8');
  const head =
    `HTTP/1.1 ${status} ${REASONS[status] ?? 'Error'}\r\n` +
    extraHeaders +
    'Content-Type: application/json\r\n' +
    `Content-Length: ${payload.length}\r\n` +
    'Cache-Control: no-store\r\n' +
    `Connection: ${close ? 'close' : 'keep-alive'}\r\n\r\n`;
  const headBytes = Buffer.from(head, 'latin1');
  // A response to HEAD carries the length of the body it would have had, but no body — RFC 9110 §9.3.2.
  return omitBody ? headBytes : Buffer.concat([headBytes, payload]);
}

/** 403 with `{"error":"forbidden","reason":…,"rule":…}`. */
export function serializeDenial(
  decision: Decision,
  options: { close: boolean; head: boolean },
): Buffer {
  const body = JSON.stringify({
    error: 'forbidden',
    reason: decision.reason,
    rule: decision.ruleId ?? null,
  });
  return response(403, body, options.close, options.head);
}

/**
 * 503 with `Retry-After` and `{"error":"service unavailable","reason":"store-unavailable",…}`:
 * the request was not recorded and not forwarded (audit store unavailable).
 */
export function serializeStoreRefusal(options: { close: boolean; head: boolean }): Buffer {
  const body = JSON.stringify({
    error: 'service unavailable',
    reason: 'store-unavailable',
    detail:
      'portwarden: the audit store is unavailable, so this request was not recorded and not forwarded; retry later',
  });
  return response(
    503,
    body,
    options.close,
    options.head,
    `Retry-After: ${STORE_RETRY_AFTER_SECONDS}\r\n`,
  );
}

/** An error status with `{"error":…}`; always closes the connection. */
export function serializeError(
  status: 400 | 408 | 414 | 431 | 501 | 502 | 505,
  detail: string,
): Buffer {
  const body = JSON.stringify({ error: (REASONS[status] ?? 'error').toLowerCase(), detail });
  return response(status, body, true, false);
}
