/**
 * Message framing from the head — RFC 9112 §6.3, applied strictly. Transfer-Encoding with
 * Content-Length, differing Content-Length values, TE on HTTP/1.0 and chunked-not-last are
 * refused in both directions: each is a classic request-smuggling or response-splitting
 * ambiguity, and a gateway that guesses differently from the target is the attack.
 */
import { CHUNKED, HttpProtocolError, NO_BODY, OPAQUE, UNTIL_CLOSE } from './messages.js';
import type { BodyFraming, HttpHeader, HttpVersion } from './messages.js';

/** Transfer codings we can frame past (the body is relayed, not decoded). */
const KNOWN_CODINGS = new Set(['chunked', 'gzip', 'x-gzip', 'deflate', 'compress', 'x-compress']);

/** Comma-separated list members of every field with this name, lower-cased and trimmed. */
export function listValues(headers: readonly HttpHeader[], name: string): string[] {
  const out: string[] = [];
  for (const h of headers) {
    if (h.name !== name) continue;
    for (const part of h.value.split(',')) {
      const v = part.trim().toLowerCase();
      if (v.length > 0) out.push(v);
    }
  }
  return out;
}

/** The first value of a field, if present. */
export function headerValue(headers: readonly HttpHeader[], name: string): string | undefined {
  for (const h of headers) if (h.name === name) return h.value;
  return undefined;
}

function contentLength(headers: readonly HttpHeader[]): number | undefined {
  let length: number | undefined;
  let seen = false;
  for (const h of headers) {
    if (h.name !== 'content-length') continue;
    seen = true;
    // A list of identical values is allowed; anything else is fatal — RFC 9112 §6.3 item 5.
    for (const part of h.value.split(',')) {
      const v = part.trim();
      if (!/^[0-9]{1,15}$/.test(v)) throw new HttpProtocolError('invalid Content-Length');
      const n = Number(v);
      if (length !== undefined && length !== n)
        throw new HttpProtocolError('conflicting Content-Length');
      length = n;
    }
  }
  if (seen && length === undefined) throw new HttpProtocolError('invalid Content-Length');
  return length;
}

/** Whether the final transfer coding is chunked; throws on unusable codings. */
function transferChunked(codings: readonly string[], isRequest: boolean): boolean {
  for (let i = 0; i < codings.length; i++) {
    const c = codings[i] ?? '';
    const name = c.split(';')[0]?.trim() ?? '';
    if (!KNOWN_CODINGS.has(name)) {
      if (isRequest)
        throw new HttpProtocolError(`unsupported transfer coding ${JSON.stringify(name)}`, 501);
      continue;
    }
    if (name === 'chunked' && i !== codings.length - 1) {
      throw new HttpProtocolError('chunked is not the final transfer coding');
    }
  }
  return codings[codings.length - 1] === 'chunked';
}

/** Body framing of a request — RFC 9112 §6.3 items 3–7. */
export function requestFraming(headers: readonly HttpHeader[], version: HttpVersion): BodyFraming {
  const te = listValues(headers, 'transfer-encoding');
  const length = contentLength(headers);
  if (te.length > 0) {
    if (version === '1.0') throw new HttpProtocolError('Transfer-Encoding in an HTTP/1.0 request');
    if (length !== undefined)
      throw new HttpProtocolError('both Transfer-Encoding and Content-Length');
    if (!transferChunked(te, true)) throw new HttpProtocolError('request body not chunked');
    return CHUNKED;
  }
  if (length === undefined || length === 0) return NO_BODY;
  return { kind: 'length', length };
}

/** Body framing of a response to `method` — RFC 9112 §6.3 items 1–8. */
export function responseFraming(
  headers: readonly HttpHeader[],
  version: HttpVersion,
  status: number,
  method: string,
): BodyFraming {
  if (status === 101) return OPAQUE;
  if (method === 'CONNECT' && status >= 200 && status < 300) return OPAQUE;
  const te = listValues(headers, 'transfer-encoding');
  const length = contentLength(headers);
  if (te.length > 0 && length !== undefined) {
    throw new HttpProtocolError('both Transfer-Encoding and Content-Length');
  }
  if (te.length > 0 && version === '1.0')
    throw new HttpProtocolError('Transfer-Encoding in HTTP/1.0');
  if (method === 'HEAD' || status < 200 || status === 204 || status === 304) return NO_BODY;
  if (te.length > 0) return transferChunked(te, false) ? CHUNKED : UNTIL_CLOSE;
  if (length === undefined) return UNTIL_CLOSE;
  return length === 0 ? NO_BODY : { kind: 'length', length };
}

/** Whether the connection persists after this message — RFC 9112 §9.3. */
export function persists(headers: readonly HttpHeader[], version: HttpVersion): boolean {
  const options = listValues(headers, 'connection');
  if (options.includes('close')) return false;
  return version === '1.1' || options.includes('keep-alive');
}
