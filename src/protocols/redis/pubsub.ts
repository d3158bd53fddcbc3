/**
 * Pub/sub bookkeeping: which replies are pushes the client did not ask for, and how many
 * confirmations a (P|S)(UN)SUBSCRIBE command is owed — Redis docs "Pub/Sub" (wire protocol).
 */
import type { Reply } from './messages.js';

/** The command kinds whose confirmations are arrays `[kind, channel, count]`. */
export type PubsubKind =
  'subscribe' | 'psubscribe' | 'ssubscribe' | 'unsubscribe' | 'punsubscribe' | 'sunsubscribe';

const KINDS: ReadonlySet<string> = new Set<PubsubKind>([
  'subscribe',
  'psubscribe',
  'ssubscribe',
  'unsubscribe',
  'punsubscribe',
  'sunsubscribe',
]);

/** First elements of RESP2 arrays that deliver a published message. */
const MESSAGE_KINDS: ReadonlySet<string> = new Set(['message', 'pmessage', 'smessage']);

/** Whether a command name is one of the pub/sub (un)subscribe kinds. */
export function isPubsubKind(command: string): command is PubsubKind {
  return KINDS.has(command);
}

/** Live subscription counts, as the server's confirmations report them. */
export class Subscriptions {
  private channels = 0;
  private patterns = 0;
  private shardChannels = 0;

  /** Subscribed to anything: in RESP2 the connection is in subscribe mode. */
  get active(): boolean {
    return this.channels + this.patterns + this.shardChannels > 0;
  }

  /** Subscriptions an argument-less UNSUBSCRIBE-like command will confirm one by one. */
  countFor(kind: PubsubKind): number {
    if (kind === 'unsubscribe' || kind === 'subscribe') return this.channels;
    if (kind === 'punsubscribe' || kind === 'psubscribe') return this.patterns;
    return this.shardChannels;
  }

  /** Whether the reply confirms a command of this kind (`[kind, channel, count]`). */
  isConfirmation(reply: Reply, kind: PubsubKind): boolean {
    return (
      (reply.type === 'array' || reply.type === 'push') && reply.head[0]?.toLowerCase() === kind
    );
  }

  /** Updates counts from a confirmation; its third element is the connection's total. */
  confirm(reply: Reply, kind: PubsubKind): void {
    const total = Number(reply.head[2]);
    if (!Number.isInteger(total) || total < 0) return;
    // (P)(UN)SUBSCRIBE report channels + patterns; S(UN)SUBSCRIBE report shard channels only.
    if (kind === 'subscribe' || kind === 'unsubscribe') {
      this.channels = Math.max(0, total - this.patterns);
    } else if (kind === 'psubscribe' || kind === 'punsubscribe') {
      this.patterns = Math.max(0, total - this.channels);
    } else this.shardChannels = total;
  }

  /** RESET drops every subscription. */
  clear(): void {
    this.channels = 0;
    this.patterns = 0;
    this.shardChannels = 0;
  }

  /** A RESP2 array that delivers a published message (never a reply to a command). */
  isRespTwoMessage(reply: Reply): boolean {
    return (
      this.active && reply.type === 'array' && MESSAGE_KINDS.has(reply.head[0]?.toLowerCase() ?? '')
    );
  }
}
