/**
 * HTTP/1.1 protocol (RFC 9110, RFC 9112): incremental request and response parsers, the
 * session that records and decides every request, header injection, and our own replies.
 *
 * Hand-written rather than llhttp: Node exposes llhttp only behind `http.Server`, which
 * re-serialises heads and owns the socket; a gateway must see the exact bytes, forward them
 * unchanged, and know where each message ends at byte offsets. The parsers are strict where
 * leniency lets two parsers disagree on message boundaries (request smuggling): CRLF only,
 * no obs-fold, no space before the colon, one Host, no Transfer-Encoding with
 * Content-Length, no conflicting Content-Length, chunked last, bounded chunk-size lines.
 */
export { createHttpSession, httpLimits } from './session.js';
export { RequestParser, toRequestHead } from './request-parser.js';
export { ResponseParser } from './response-parser.js';
export { BodyTracker, DEFAULT_BODY_LIMITS } from './body-tracker.js';
export type { BodyLimits } from './body-tracker.js';
export { DEFAULT_HEAD_LIMITS, parseRequestHead, parseResponseHead } from './head-parser.js';
export type { HeadLimits } from './head-parser.js';
export { DEFAULT_HTTP_LIMITS } from './limits.js';
export type { HttpLimits } from './limits.js';
export { requestFraming, responseFraming } from './framing.js';
export { forwardedOptions, forwardedFor, rewriteHead } from './forwarded.js';
export type { ForwardedOptions } from './forwarded.js';
export { describeRequest, normalizePath, redactQuery } from './request-facts.js';
export type { RequestFacts } from './request-facts.js';
export { serializeDenial, serializeError } from './serializer.js';
export { HttpProtocolError } from './messages.js';
export type {
  BodyFraming,
  HttpErrorStatus,
  HttpHeader,
  HttpVersion,
  RequestHead,
  RequestMessage,
  ResponseHead,
  ResponseMessage,
} from './messages.js';
export { refuseHttpConnection } from './store-refusal.js';
