/**
 * What a forwarded command is owed: how many replies (pub/sub commands get one confirmation
 * per channel), and what its successful reply changes about the connection.
 */
import type { CommandHead, Reply } from './messages.js';
import { isPubsubKind, type PubsubKind } from './pubsub.js';

/** What a successful reply changes about the connection. */
export type Effect =
  | { readonly kind: 'none' }
  | { readonly kind: 'hello'; readonly version: number | undefined; readonly user?: string }
  | { readonly kind: 'auth'; readonly user: string }
  | { readonly kind: 'monitor' }
  | { readonly kind: 'reset' };

export const NO_EFFECT: Effect = { kind: 'none' };

/** One command still owed a reply (or a denial waiting for its turn in the reply order). */
export interface Pending {
  readonly commandId: string;
  readonly command: string;
  readonly started: bigint;
  /** Replies still owed; undefined: one per current subscription (argument-less UNSUBSCRIBE). */
  remaining: number | undefined;
  readonly pubsub: PubsubKind | undefined;
  readonly effect: Effect;
  /** Our own `-NOPERM` bytes, sent when every earlier reply has been forwarded. */
  readonly denial: Buffer | undefined;
  /**
   * An EXEC sent upstream as DISCARD: its reply is swallowed and these bytes (`-EXECABORT`)
   * answer the client instead; `reason` names the denial that doomed the transaction.
   */
  readonly replacement?: { readonly bytes: Buffer; readonly reason: string };
  error: Reply | undefined;
  last: Reply | undefined;
}

/** Argument `i` in lower case (latin1), '' when absent. */
export function argLower(head: CommandHead, i: number): string {
  return (head.args[i]?.toString('latin1') ?? '').toLowerCase();
}

/**
 * The replies a forwarded command is owed and its effect. `count` undefined: one per current
 * subscription (UNSUBSCRIBE-like without channels). Inside MULTI a pub/sub command is
 * answered once (+QUEUED) like any other.
 */
export function owedReplies(
  command: string,
  head: CommandHead,
  inMulti: boolean,
): { effect: Effect; count: number | undefined; pubsub: PubsubKind | undefined } {
  if (command === 'reset') return { effect: { kind: 'reset' }, count: 1, pubsub: undefined };
  if (command === 'monitor') return { effect: { kind: 'monitor' }, count: 1, pubsub: undefined };
  if (command === 'auth') {
    // AUTH password means the default user; AUTH username password names it.
    const user = head.argc === 2 ? 'default' : head.args[1]?.toString('utf8');
    const effect: Effect = user === undefined ? NO_EFFECT : { kind: 'auth', user };
    return { effect, count: 1, pubsub: undefined };
  }
  if (command === 'hello') {
    const asked = head.argc >= 2 ? Number(argLower(head, 1)) : NaN;
    const version = Number.isInteger(asked) ? asked : undefined;
    const authAt = head.args.findIndex(
      (a, i) => i >= 2 && a.toString('latin1').toLowerCase() === 'auth',
    );
    const user = authAt > 0 ? head.args[authAt + 1]?.toString('utf8') : undefined;
    const effect: Effect = { kind: 'hello', version, ...(user === undefined ? {} : { user }) };
    return { effect, count: 1, pubsub: undefined };
  }
  if (isPubsubKind(command) && !inMulti) {
    // One confirmation per channel; none named on UNSUBSCRIBE-like: one per subscription.
    const channels = head.argc - 1;
    const count = channels > 0 ? channels : command.endsWith('unsubscribe') ? undefined : 1;
    return { effect: NO_EFFECT, count, pubsub: command };
  }
  return { effect: NO_EFFECT, count: 1, pubsub: undefined };
}
