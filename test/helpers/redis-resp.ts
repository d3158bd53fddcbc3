/**
 * A RESP fixture builder for tests, written apart from the production code (which only ever
 * writes error lines). Each helper follows one row of the RESP spec's type table
 * (https://redis.io/docs/latest/develop/reference/protocol-spec/#resp-protocol-description).
 */

const CRLF = '\r\n';

/** `+text` — Simple strings. */
export const simple = (text: string): Buffer => Buffer.from(`+${text}${CRLF}`);
/** `-text` — Simple errors. */
export const error = (text: string): Buffer => Buffer.from(`-${text}${CRLF}`);
/** `:n` — Integers. */
export const integer = (n: number | bigint): Buffer => Buffer.from(`:${n}${CRLF}`);
/** `$len\r\nbytes` — Bulk strings. */
export function bulk(value: string | Buffer): Buffer {
  const body = typeof value === 'string' ? Buffer.from(value) : value;
  return Buffer.concat([Buffer.from(`$${body.length}${CRLF}`), body, Buffer.from(CRLF)]);
}
/** `$-1` — Null bulk strings (RESP2). */
export const nullBulk = (): Buffer => Buffer.from(`$-1${CRLF}`);
/** `*-1` — Null arrays (RESP2). */
export const nullArray = (): Buffer => Buffer.from(`*-1${CRLF}`);
/** `_` — Nulls (RESP3). */
export const null3 = (): Buffer => Buffer.from(`_${CRLF}`);
/** `#t` / `#f` — Booleans (RESP3). */
export const boolean = (b: boolean): Buffer => Buffer.from(`#${b ? 't' : 'f'}${CRLF}`);
/** `,1.5` — Doubles (RESP3). */
export const double = (text: string): Buffer => Buffer.from(`,${text}${CRLF}`);
/** `(123…` — Big numbers (RESP3). */
export const bigNumber = (digits: string): Buffer => Buffer.from(`(${digits}${CRLF}`);
/** `!len\r\ntext` — Bulk errors (RESP3). */
export function bulkError(text: string): Buffer {
  const body = Buffer.from(text);
  return Buffer.concat([Buffer.from(`!${body.length}${CRLF}`), body, Buffer.from(CRLF)]);
}
/** `=len\r\nfmt:text` — Verbatim strings (RESP3). */
export function verbatim(format: string, text: string): Buffer {
  const body = Buffer.from(`${format}:${text}`);
  return Buffer.concat([Buffer.from(`=${body.length}${CRLF}`), body, Buffer.from(CRLF)]);
}

function aggregate(type: string, count: number, items: readonly Buffer[]): Buffer {
  return Buffer.concat([Buffer.from(`${type}${count}${CRLF}`), ...items]);
}
/** `*n` — Arrays. */
export const array = (...items: Buffer[]): Buffer => aggregate('*', items.length, items);
/** `~n` — Sets (RESP3). */
export const set = (...items: Buffer[]): Buffer => aggregate('~', items.length, items);
/** `>n` — Pushes (RESP3). */
export const push = (...items: Buffer[]): Buffer => aggregate('>', items.length, items);
/** `%n` — Maps (RESP3): n key/value pairs. */
export const map = (...pairs: [Buffer, Buffer][]): Buffer =>
  aggregate('%', pairs.length, pairs.flat());
/** `|n` — Attributes (RESP3): n pairs annotating the value that follows. */
export const attribute = (...pairs: [Buffer, Buffer][]): Buffer =>
  aggregate('|', pairs.length, pairs.flat());

/** A client command as clients send it: an array of bulk strings (Sending commands to a Redis server). */
export const command = (...args: (string | Buffer)[]): Buffer => array(...args.map(bulk));
/** An inline command: a line of words ended by CRLF (Inline commands). */
export const inline = (line: string): Buffer => Buffer.from(`${line}${CRLF}`);

/** Joins fixtures into one stream. */
export const join = (...parts: Buffer[]): Buffer => Buffer.concat(parts);
