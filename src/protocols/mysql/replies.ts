import { ServerStatus } from './messages.js';
import { resultRecord } from './records.js';
import type { DbIdentity, ResultFacts } from './records.js';
import { outcomeOf } from './tracking.js';
import type { Pending, Tracked } from './tracking.js';

/** What the reply queue needs from its session. */
export interface ReplyHost {
  identity(): DbIdentity;
  record: (input: ReturnType<typeof resultRecord>) => string;
  now(): bigint;
  /** Write our own packet to the client after everything forwarded so far. */
  sendToClient(packet: Buffer): void;
  /** USE / COM_INIT_DB succeeded. */
  useDatabase(database: string): void;
}

/**
 * What the session owes the client, in command order (the classic protocol answers commands
 * strictly in order, even when a client pipelines them). Server replies fold into the oldest
 * entry; statement i of a multi-statement COM_QUERY gets the i-th result (chained by
 * SERVER_MORE_RESULTS_EXISTS); a denial waits behind the replies owed before it.
 */
export class ReplyQueue {
  private readonly pending: Pending[] = [];

  constructor(private readonly host: ReplyHost) {}

  push(entry: Pending): void {
    this.pending.push(entry);
  }

  head(): Pending | undefined {
    return this.pending[0];
  }

  /** A packet of our own to the client, after every reply owed before it. */
  sendOwn(packet: Buffer): void {
    if (this.pending.length > 0) this.pending.push({ kind: 'denied', packet });
    else this.host.sendToClient(packet);
  }

  /** One result of the oldest command: fold it into the statement it answers. */
  result(status: number, fold: (t: Tracked) => void): void {
    const head = this.pending[0];
    if (head?.kind !== 'actions') return;
    const current = head.actions[head.index];
    if (current === undefined) return;
    fold(current);
    // The next result answers the next statement (extra results of a CALL stay with the last).
    const more = (status & ServerStatus.MoreResultsExist) !== 0;
    if (more && current.error === undefined && head.index < head.actions.length - 1) {
      this.finish(current, outcomeOf(current));
      head.index += 1;
    }
  }

  /** The oldest command is fully answered: record what is left of it, send queued denials. */
  responseEnd(): void {
    const head = this.pending.shift();
    if (head?.kind === 'actions') {
      head.actions.forEach((tracked, i) => {
        if (i < head.index || tracked.finished) return;
        if (tracked.results === 0) {
          const reason = 'not executed: the server stopped at an earlier statement';
          this.finish(tracked, { outcome: 'unknown', reason });
          return;
        }
        this.finish(tracked, outcomeOf(tracked));
        if (tracked.error === undefined && tracked.useDatabase !== undefined) {
          this.host.useDatabase(tracked.useDatabase);
        }
      });
    }
    for (let next = this.pending[0]; next?.kind === 'denied'; next = this.pending[0]) {
      this.pending.shift();
      this.host.sendToClient(next.packet);
    }
  }

  /** Records the outcome of one action (once). */
  finish(tracked: Tracked, result: ResultFacts): void {
    if (tracked.finished) return;
    tracked.finished = true;
    const duration = this.host.now() - tracked.startedAt;
    const identity = this.host.identity();
    this.host.record(resultRecord(identity, tracked.operation, tracked.queryId, duration, result));
  }

  /** The connection ended: everything still owed, for the session to record as unknown. */
  drain(): Pending[] {
    const left = this.pending.splice(0);
    for (const entry of left) {
      if (entry.kind !== 'actions') continue;
      for (const tracked of entry.actions.slice(entry.index)) {
        this.finish(tracked, { outcome: 'unknown', reason: 'connection closed before the reply' });
      }
    }
    return left;
  }
}
