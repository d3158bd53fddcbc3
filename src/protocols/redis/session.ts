/**
 * The Redis session: client commands → `redis-command` records and policy decisions; server
 * replies → `redis-reply` records, matched to commands in FIFO order. Bytes are forwarded as
 * they came; a denied command is dropped and answered `-NOPERM` in its place in the reply
 * order (`-ERR audit store unavailable…` when refused because nothing can be recorded now;
 * an EXEC or DISCARD so refused inside MULTI still ends the transaction upstream).
 * A denial inside MULTI dooms the transaction as Redis' own queue-time errors do: its EXEC
 * goes upstream as DISCARD and the client gets `-EXECABORT`. Pub/sub and MONITOR pushes are
 * counted, never paired.
 */
import type { JsonObject } from '../../audit/event.js';
import { ProtocolError } from '../../errors.js';
import type { Decision } from '../../policy/action.js';
import { isStoreRefusal, STORE_UNAVAILABLE } from '../session.js';
import type { ProtocolSession, SessionContext } from '../session.js';
import { commandKeys, resolveCommand } from './commands.js';
import { HeadPlan, MAX_HEAD_ARGS, MAX_HEAD_BYTES } from './head-plan.js';
import type { CommandKeys } from './keys.js';
import type { CommandHead, Reply } from './messages.js';
import { CommandRelay, type CommandVerdict } from './command-relay.js';
import { argLower, NO_EFFECT, owedReplies, type Effect, type Pending } from './pending.js';
import { Subscriptions, type PubsubKind } from './pubsub.js';
import { commandRecord, MAX_VALUES, replyRecord } from './records.js';
import { RespParser } from './resp-parser.js';
import {
  DISCARD_COMMAND,
  serializeDenial,
  serializeExecAbort,
  serializeProtocolError,
  serializeStoreExecAbort,
  serializeStoreRefusal,
} from './serializer.js';

/** Bytes copied of each argument (keys, values, state arguments). */
const VALUE_BYTES = 1024;

/**
 * Refuses a command before policy is asked (e.g. a second sign-in behind listener
 * `auth: gateway`); returns the reason, or undefined to let policy decide.
 */
export type CommandGuard = (command: string, head: CommandHead) => string | undefined;

class RedisSession implements ProtocolSession {
  private readonly ctx: SessionContext;
  private readonly commands: RespParser;
  private readonly replies: RespParser;
  private readonly queue: Pending[] = [];
  private readonly subscriptions = new Subscriptions();
  private closed = false;
  private finished = false;
  /** Client direction: whole commands forwarded or dropped (command-relay.ts). */
  private readonly relay: CommandRelay;

  // Server direction.
  private serverChunk: Buffer = Buffer.alloc(0);
  private serverFrom = 0;

  // Connection state as the commands sent so far left it.
  private resp3 = false;
  private inMulti = false;
  /** The first denial inside the open MULTI: its EXEC will be a DISCARD. */
  private multiDenied: string | undefined;
  /** A reply cut at a chunk end while the head of the queue may be one to swallow. */
  private serverHeld: Buffer[] = [];
  private monitor = false;
  private replyMode: 'on' | 'off' | 'skip-next' = 'on';
  private pushes = 0;
  private unpaired = 0;

  constructor(
    ctx: SessionContext,
    private readonly guard?: CommandGuard,
  ) {
    this.ctx = ctx;
    this.relay = new CommandRelay((bytes) => ctx.toUpstream(bytes), DISCARD_COMMAND);
    const maxBulkBytes = ctx.options.maxMessageBytes;
    const extra = ctx.options.extra;
    const maxElements = typeof extra['maxElements'] === 'number' ? extra['maxElements'] : undefined;
    // Decide as soon as name, keys (and the values to record) are read; copy only those.
    const plan = new HeadPlan(ctx.options.recordValues ? MAX_VALUES + 1 : 0, VALUE_BYTES);
    this.commands = new RespParser(
      {
        mode: 'command',
        maxBulkBytes,
        maxElements,
        captureArgs: MAX_HEAD_ARGS,
        captureBytes: VALUE_BYTES,
        headBytes: Math.min(maxBulkBytes, MAX_HEAD_BYTES),
        captureArg: (index, args, argc) => plan.wants(index, args, argc),
        headReady: (args, argc) => plan.ready(args, argc),
      },
      {
        commandHead: (head, at) => this.onCommandHead(head, at),
        commandEnd: (at) => this.onCommandEnd(at),
        reply: () => undefined,
      },
    );
    this.replies = new RespParser(
      { mode: 'reply', maxBulkBytes, maxElements },
      {
        commandHead: () => undefined,
        commandEnd: () => undefined,
        reply: (reply, at) => this.onReply(reply, at),
      },
    );
  }

  onClientData(chunk: Buffer): void {
    if (this.closed) return;
    this.relay.begin(chunk);
    try {
      this.commands.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.relay.flush();
      this.protocolFailure(err, true);
      return;
    }
    if (this.closed) return;
    this.relay.done();
  }

  onServerData(chunk: Buffer): void {
    if (this.closed) return;
    this.serverChunk = chunk;
    this.serverFrom = 0;
    try {
      this.replies.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.protocolFailure(err, false);
      return;
    }
    if (this.closed) return;
    if (this.serverFrom >= chunk.length) return;
    const rest = chunk.subarray(this.serverFrom);
    if (this.mayBeSwallowed(rest)) this.serverHeld.push(Buffer.from(rest));
    else this.forwardReply(rest);
  }

  onClose(): void {
    if (this.finished) return;
    this.finished = true;
    // Whatever is still owed a reply never got one.
    for (const pending of this.queue) {
      this.recordReply(pending, undefined, 'unknown', 'connection closed before the reply');
    }
    this.queue.length = 0;
    this.annotateCounts();
  }

  // ---- client side ----

  private onCommandHead(head: CommandHead, at: number): void {
    if (this.closed) return;
    this.relay.head(this.handleCommand(head), at);
  }

  private onCommandEnd(at: number): void {
    this.relay.end(at);
  }

  /**
   * Records the command, asks policy, updates connection state: forward it, drop it (denied),
   * or send DISCARD in its place (the EXEC of a transaction with a denied command).
   */
  private handleCommand(head: CommandHead): CommandVerdict {
    const resolved = resolveCommand(head.args, head.argc);
    const command = resolved.name;
    const keys = commandKeys(resolved, head.args, head.argc, VALUE_BYTES);
    const refused = this.guard?.(command, head);
    const decision: Decision =
      refused === undefined
        ? this.ctx.decide({
            protocol: 'redis',
            command,
            categories: resolved.categories,
            ...keyFacts(keys),
          })
        : { verdict: 'deny', reason: refused };
    const allowed = decision.verdict !== 'deny';
    const record = commandRecord(resolved, head, keys, decision, this.ctx.options.recordValues);
    const commandId = this.ctx.record(record);
    const started = this.ctx.now();
    if (isStoreRefusal(decision) && this.inMulti && (command === 'exec' || command === 'discard')) {
      // Refused for the store, the transaction must still end on the server, or the
      // client's next commands would be queued there: DISCARD goes up in its place.
      this.commandSent(head, command, commandId, started, {
        bytes: command === 'exec' ? serializeStoreExecAbort() : serializeStoreRefusal(command),
        reason: `transaction discarded: ${STORE_UNAVAILABLE}`,
      });
      return 'discard';
    }
    if (!allowed) {
      const denial = isStoreRefusal(decision)
        ? serializeStoreRefusal(command)
        : serializeDenial(command, decision.ruleId);
      // Redis flags a transaction whose command failed at queue time (multi.c flagTransaction).
      if (this.inMulti && command !== 'exec' && command !== 'discard') {
        this.multiDenied ??= `'${command}' was denied inside MULTI (${decision.reason})`;
      }
      this.enqueue(commandId, command, started, 1, undefined, NO_EFFECT, denial);
      return 'drop';
    }
    if (command === 'exec' && this.inMulti && this.multiDenied !== undefined) {
      const reason = `transaction discarded: ${this.multiDenied}`;
      this.commandSent(head, command, commandId, started, {
        bytes: serializeExecAbort(),
        reason,
      });
      return 'discard';
    }
    this.commandSent(head, command, commandId, started);
    return 'forward';
  }

  /** State changes of a forwarded command, and how many replies it is owed. */
  private commandSent(
    head: CommandHead,
    command: string,
    commandId: string,
    started: bigint,
    replacement?: Pending['replacement'],
  ): void {
    let replies = !this.monitor || command === 'reset';
    if (this.replyMode === 'off') replies = false;
    if (this.replyMode === 'skip-next') {
      replies = false;
      this.replyMode = 'on';
    }
    const owed = owedReplies(command, head, this.inMulti);
    if (command === 'client|reply' && !this.inMulti) {
      // CLIENT REPLY OFF / SKIP are not answered; ON is — CLIENT REPLY docs.
      const mode = argLower(head, 2);
      this.replyMode = mode === 'off' ? 'off' : mode === 'skip' ? 'skip-next' : 'on';
      replies = mode === 'on';
    } else if (command === 'multi') {
      if (!this.inMulti) this.multiDenied = undefined;
      this.inMulti = true;
    } else if (command === 'exec' || command === 'discard') {
      this.inMulti = false;
      this.multiDenied = undefined;
    } else if (command === 'reset') {
      this.inMulti = false;
      this.multiDenied = undefined;
      this.replyMode = 'on';
    }
    // HELLO 3 switches the reply parser at once: the HELLO reply itself is RESP3.
    if (owed.effect.kind === 'hello' && owed.effect.version === 3) this.replies.resp3 = true;
    if (replies) {
      this.enqueue(
        commandId,
        command,
        started,
        owed.count,
        owed.pubsub,
        owed.effect,
        undefined,
        replacement,
      );
    }
  }

  private enqueue(
    commandId: string,
    command: string,
    started: bigint,
    remaining: number | undefined,
    pubsub: PubsubKind | undefined,
    effect: Effect,
    denial: Buffer | undefined,
    replacement?: Pending['replacement'],
  ): void {
    this.queue.push({
      commandId,
      command,
      started,
      remaining,
      pubsub,
      effect,
      denial,
      ...(replacement === undefined ? {} : { replacement }),
      error: undefined,
      last: undefined,
    });
    if (this.queue.length === 1) this.sendDenials();
  }

  // ---- server side ----

  private onReply(reply: Reply, at: number): void {
    if (this.closed) return;
    const bytes = this.serverChunk.subarray(this.serverFrom, at);
    this.serverFrom = at;
    const head = this.queue[0];
    if (head?.replacement !== undefined && this.answersCommand(reply)) {
      // DISCARD's own reply: the client asked for EXEC and gets -EXECABORT instead.
      this.serverHeld = [];
      this.queue.shift();
      this.ctx.toClient(head.replacement.bytes);
      const text = head.replacement.bytes.toString('utf8', 1, head.replacement.bytes.length - 2);
      const abort: Reply = { kind: 'reply', type: 'error', text, count: 0, head: [] };
      this.recordReply(head, abort, 'failure', head.replacement.reason);
    } else {
      this.forwardReply(bytes);
      this.pairReply(reply);
    }
    this.sendDenials();
  }

  /** Forwards reply bytes to the client, after any held start of the same reply. */
  private forwardReply(bytes: Buffer): void {
    if (this.serverHeld.length > 0) {
      for (const piece of this.serverHeld) this.ctx.toClient(piece);
      this.serverHeld = [];
    }
    if (bytes.length > 0) this.ctx.toClient(bytes);
  }

  /**
   * Whether the unfinished reply `rest` ends with may be the DISCARD reply to swallow: the
   * queue head waits for one, and the reply is a simple line (+OK, or an error) — anything
   * else is a push and goes on to the client at once.
   */
  private mayBeSwallowed(rest: Buffer): boolean {
    if (this.queue[0]?.replacement === undefined || this.monitor) return false;
    const first = this.serverHeld[0]?.[0] ?? rest[0];
    return first === 0x2b /* + */ || first === 0x2d; /* - */
  }

  /** Whether a reply answers the command at the head of the queue (not a push). */
  private answersCommand(reply: Reply): boolean {
    if (this.monitor || reply.type === 'push') return false;
    return this.resp3 || !this.subscriptions.isRespTwoMessage(reply);
  }

  private pairReply(reply: Reply): void {
    const head = this.queue[0];
    if (this.monitor) {
      // After MONITOR's +OK every line is a push, until RESET is answered +RESET.
      if (head?.command === 'reset' && reply.type === 'simple' && reply.text === 'RESET') {
        this.consume(head, reply);
      } else this.pushes++;
      return;
    }
    if (reply.type === 'push') {
      // RESP3 pushes never answer a command, except a pub/sub command's own confirmations.
      if (head?.pubsub !== undefined && this.subscriptions.isConfirmation(reply, head.pubsub)) {
        this.consume(head, reply);
      } else this.pushes++;
      return;
    }
    if (!this.resp3 && this.subscriptions.isRespTwoMessage(reply)) {
      this.pushes++;
      return;
    }
    if (head === undefined || head.denial !== undefined) {
      this.unpaired++;
      return;
    }
    this.consume(head, reply);
  }

  private consume(pending: Pending, reply: Reply): void {
    pending.last = reply;
    const isError = reply.type === 'error' || reply.type === 'bulk-error';
    if (isError) pending.error ??= reply;
    let done = true;
    if (!isError && pending.pubsub !== undefined) {
      if (this.subscriptions.isConfirmation(reply, pending.pubsub)) {
        pending.remaining ??= Math.max(1, this.subscriptions.countFor(pending.pubsub));
        this.subscriptions.confirm(reply, pending.pubsub);
        pending.remaining--;
        done = pending.remaining <= 0;
      }
    }
    if (!done) return;
    this.queue.shift();
    if (!isError) this.applyEffect(pending.effect);
    this.recordReply(
      pending,
      pending.error ?? reply,
      pending.error === undefined ? 'success' : 'failure',
    );
  }

  private applyEffect(effect: Effect): void {
    switch (effect.kind) {
      case 'none':
        return;
      case 'hello':
        if (effect.version !== undefined) this.resp3 = effect.version === 3;
        if (effect.user !== undefined) this.ctx.setIdentity({ user: effect.user });
        return;
      case 'auth':
        this.ctx.setIdentity({ user: effect.user });
        return;
      case 'monitor':
        this.monitor = true;
        return;
      case 'reset':
        this.resp3 = false;
        this.monitor = false;
        this.subscriptions.clear();
        return;
      default: {
        const never: never = effect;
        return never;
      }
    }
  }

  /** Sends every denial now at the head of the reply order. */
  private sendDenials(): void {
    for (let head = this.queue[0]; head?.denial !== undefined; head = this.queue[0]) {
      this.queue.shift();
      this.ctx.toClient(head.denial);
      const text = head.denial.toString('utf8', 1, head.denial.length - 2);
      const reply: Reply = { kind: 'reply', type: 'error', text, count: 0, head: [] };
      this.recordReply(head, reply, 'failure');
    }
  }

  private recordReply(
    pending: Pending,
    reply: Reply | undefined,
    outcome: 'success' | 'failure' | 'unknown',
    reason?: string,
  ): void {
    const duration = Number(this.ctx.now() - pending.started);
    this.ctx.record(
      replyRecord(pending.command, pending.commandId, reply, outcome, duration, reason),
    );
  }

  private annotateCounts(): void {
    const counts: JsonObject = {};
    if (this.pushes > 0) counts['pushes'] = this.pushes;
    if (this.unpaired > 0) counts['unpaired_replies'] = this.unpaired;
    if (Object.keys(counts).length > 0) this.ctx.annotate({ redis: counts });
  }

  private protocolFailure(err: ProtocolError, fromClient: boolean): void {
    if (fromClient) this.ctx.toClient(serializeProtocolError(err.detail));
    this.closed = true;
    this.onClose();
    this.ctx.close('protocol-error', `${fromClient ? 'client' : 'server'}: ${err.detail}`);
  }
}

/** Policy's key facts: the keys, and whether they are all of them. */
function keyFacts(keys: CommandKeys): { keys: string[]; keysComplete: boolean } {
  return { keys: keys.keys.map((k) => k.toString('utf8')), keysComplete: keys.complete };
}

/** Creates the Redis session for one client connection (with an optional command guard). */
export const createRedisSession = (ctx: SessionContext, guard?: CommandGuard): ProtocolSession =>
  new RedisSession(ctx, guard);
