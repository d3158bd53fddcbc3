/**
 * Plain data produced by the HTTP/1.1 parsers (RFC 9112). Every byte a parser reads ends up
 * in exactly one message's `raw`/`bytes`, so forwarding the messages in order forwards the
 * stream unchanged.
 */
import { ProtocolError } from '../../errors.js';

/** One header field line; offsets locate the whole line (CRLF included) inside the head. */
export interface HttpHeader {
  /** Field name, lower-cased. */
  readonly name: string;
  /** Field value without surrounding whitespace (latin1). */
  readonly value: string;
  readonly lineStart: number;
  readonly lineEnd: number;
}

export type HttpVersion = '1.0' | '1.1';

/** How the bytes after a head are delimited — RFC 9112 §6.3. */
export type BodyFraming =
  | { readonly kind: 'none' }
  | { readonly kind: 'length'; readonly length: number }
  | { readonly kind: 'chunked' }
  | { readonly kind: 'until-close' }
  /** After 101 Switching Protocols or a 2xx to CONNECT: not HTTP any more. */
  | { readonly kind: 'opaque' };

export const NO_BODY: BodyFraming = { kind: 'none' };
export const CHUNKED: BodyFraming = { kind: 'chunked' };
export const UNTIL_CLOSE: BodyFraming = { kind: 'until-close' };
export const OPAQUE: BodyFraming = { kind: 'opaque' };

export interface RequestHead {
  readonly method: string;
  /** The request-target exactly as sent. */
  readonly target: string;
  readonly version: HttpVersion;
  readonly headers: readonly HttpHeader[];
  /** The whole head: request line, field lines, final CRLF. */
  readonly raw: Buffer;
  /** Offset in `raw` where the field lines start (just after the request line). */
  readonly fieldsStart: number;
  readonly framing: BodyFraming;
  /** The connection stays open after this exchange (RFC 9112 §9.3). */
  readonly keepAlive: boolean;
  /** `Connection: upgrade` with an `Upgrade` header, or CONNECT: opaque if the server agrees. */
  readonly upgrade: boolean;
  /** `Expect: 100-continue`. */
  readonly expectContinue: boolean;
}

export interface ResponseHead {
  readonly status: number;
  readonly version: HttpVersion;
  readonly headers: readonly HttpHeader[];
  readonly raw: Buffer;
  readonly framing: BodyFraming;
  /** A 1xx other than 101: the final response to the same request follows. */
  readonly interim: boolean;
}

export type RequestMessage =
  | { readonly type: 'request-head'; readonly head: RequestHead }
  /** Wire bytes of the body (chunk framing included), a view of the pushed chunk. */
  | { readonly type: 'body'; readonly bytes: Buffer }
  /** The message ended; `payloadBytes` counts body bytes without chunk framing. */
  | { readonly type: 'end'; readonly payloadBytes: number }
  /** Bytes after a granted upgrade: relayed, not parsed. */
  | { readonly type: 'opaque'; readonly bytes: Buffer };

export type ResponseMessage =
  | { readonly type: 'response-head'; readonly head: ResponseHead; readonly unsolicited: boolean }
  | { readonly type: 'body'; readonly bytes: Buffer }
  | { readonly type: 'end'; readonly payloadBytes: number }
  | { readonly type: 'opaque'; readonly bytes: Buffer };

/** Status codes the gateway answers a malformed request with. */
export type HttpErrorStatus = 400 | 414 | 431 | 501 | 505;

/** A violation of RFC 9112, with the status a server answers it with. */
export class HttpProtocolError extends ProtocolError {
  readonly status: HttpErrorStatus;
  constructor(detail: string, status: HttpErrorStatus = 400) {
    super('http', detail);
    this.name = 'HttpProtocolError';
    this.status = status;
  }
}
