/**
 * What the RESP parser emits: plain readonly data. Clients send commands (arrays of bulk
 * strings, or inline lines); servers send replies (any RESP2/RESP3 value). Bulk bodies are
 * not kept beyond the few bytes the session needs — RESP protocol spec ("RESP protocol
 * description").
 */

/** RESP type bytes — RESP protocol spec, "RESP protocol description" table. */
export const RESP_TYPE = {
  simple: 0x2b, // '+'
  error: 0x2d, // '-'
  integer: 0x3a, // ':'
  bulk: 0x24, // '$'
  array: 0x2a, // '*'
  null: 0x5f, // '_' (RESP3)
  boolean: 0x23, // '#' (RESP3)
  double: 0x2c, // ',' (RESP3)
  bigNumber: 0x28, // '(' (RESP3)
  bulkError: 0x21, // '!' (RESP3)
  verbatim: 0x3d, // '=' (RESP3)
  map: 0x25, // '%' (RESP3)
  set: 0x7e, // '~' (RESP3)
  push: 0x3e, // '>' (RESP3)
  attribute: 0x7c, // '|' (RESP3; annotates the value after it, never a reply itself)
} as const;

/** The type of one reply as recorded in `redis.reply.type` (RESP2 `$-1`/`*-1` are `null`). */
export type ReplyType =
  | 'simple'
  | 'error'
  | 'integer'
  | 'bulk'
  | 'array'
  | 'null'
  | 'boolean'
  | 'double'
  | 'big-number'
  | 'bulk-error'
  | 'verbatim'
  | 'map'
  | 'set'
  | 'push';

/** A client command whose name and first arguments are known (more may still be streaming). */
export interface CommandHead {
  readonly kind: 'command-head';
  /** Number of arguments including the command name. */
  readonly argc: number;
  /** Copies of the first arguments (at most `captureArgs`, each at most `captureBytes`). */
  readonly args: readonly Buffer[];
  /** Sent as an inline command (a line of words) rather than a RESP array. */
  readonly inline: boolean;
}

/** One whole top-level reply from the server. */
export interface Reply {
  readonly kind: 'reply';
  readonly type: ReplyType;
  /** Leading text of a scalar (simple, error, bulk-error, integer, …); undefined for bulk and aggregates. */
  readonly text: string | undefined;
  /** Elements of an aggregate (pairs for a map); 0 for scalars. */
  readonly count: number;
  /** Leading scalar elements of an aggregate as text (up to 3; pub/sub needs kind, channel, count). */
  readonly head: readonly string[];
}
