/**
 * Matches server responses to client requests in order (protocol-flow: responses come in
 * request order, pipelined or not). Each executed statement ends in exactly one db-result.
 */
import type { ResultFacts } from './records.js';
import { rowsFromTag } from './records.js';
import type { ErrorFields, TransactionStatus } from './messages.js';
import { errorResponse, readyForQuery, SqlState } from './serializer.js';

/** A recorded statement waiting for its outcome. */
export interface PendingAction {
  readonly queryId: string;
  readonly startedAt: bigint;
  rows: number;
  copyBytes: number;
  copyDirection: 'in' | 'out' | null;
  done: boolean;
}

/** One request the server will answer (or, for `denied`, that we answer ourselves). */
export type Pending =
  | { readonly kind: 'query'; readonly actions: PendingAction[]; next: number; failed: boolean }
  | { readonly kind: 'parse' | 'bind' | 'describe' | 'close' | 'sync' }
  | { readonly kind: 'execute' | 'function'; readonly action: PendingAction }
  /** Our ErrorResponse (plus ReadyForQuery when `simple`), due when it reaches the head. */
  | {
      readonly kind: 'denied';
      readonly simple: boolean;
      readonly message: string;
      /** The SQLSTATE answered (default 42501 insufficient_privilege). */
      readonly sqlstate?: string;
    };

export interface QueueHost {
  now(): bigint;
  record(queryId: string, durationNs: bigint, facts: ResultFacts): void;
  /** Sends our bytes to the client after the server message ending at chunk offset `end`. */
  inject(bytes: Buffer, end: number | null): void;
  /** False while a server message is half-read (our bytes would land inside it). */
  canInject(): boolean;
  status(): TransactionStatus;
}

const NOT_EXECUTED_AFTER_ERROR = 'not executed: an earlier statement failed';
const NOT_EXECUTED_IN_BATCH = 'not executed: an earlier message of the batch failed';
const NO_ANSWER = 'the server gave no result';

export class ResponseQueue {
  private entries: Pending[] = [];

  constructor(private readonly host: QueueHost) {}

  /** A new action, timed from now. */
  action(queryId: string): PendingAction {
    return {
      queryId,
      startedAt: this.host.now(),
      rows: 0,
      copyBytes: 0,
      copyDirection: null,
      done: false,
    };
  }

  push(entry: Pending): void {
    this.entries.push(entry);
    if (entry.kind === 'denied') this.settle(null);
  }

  /** Requests not yet answered (for tests). */
  size(): number {
    return this.entries.length;
  }

  /** The statement that rows and COPY bytes arriving now belong to. */
  current(): PendingAction | undefined {
    const head = this.entries[0];
    if (head === undefined) return undefined;
    if (head.kind === 'query') return head.actions[head.next];
    if (head.kind === 'execute' || head.kind === 'function') return head.action;
    return undefined;
  }

  /** ParseComplete, BindComplete, CloseComplete, NoData / RowDescription after Describe. */
  answer(kind: 'parse' | 'bind' | 'describe' | 'close'): void {
    if (this.entries[0]?.kind === kind) this.entries.shift();
  }

  /** CommandComplete (with its tag), EmptyQueryResponse or PortalSuspended (null). */
  complete(tag: string | null): void {
    const head = this.entries[0];
    if (head === undefined) return;
    if (head.kind === 'query') {
      const action = head.actions[head.next];
      if (action === undefined) return;
      head.next += 1;
      this.finish(action, success(action, tag));
    } else if (head.kind === 'execute') {
      this.entries.shift();
      this.finish(head.action, success(head.action, tag));
    }
  }

  /** FunctionCallResponse. */
  functionResult(): void {
    const head = this.entries[0];
    if (head?.kind === 'function')
      this.finish(head.action, { outcome: 'success', statusCode: '00000' });
  }

  /** An ErrorResponse after startup. */
  error(fields: ErrorFields): void {
    const head = this.entries[0];
    if (head === undefined || head.kind === 'sync') return;
    const failure: ResultFacts = {
      outcome: 'failure',
      statusCode: fields.sqlstate,
      errorMessage: fields.message,
    };
    if (head.kind === 'query') {
      // The rest of the Query string is not run; ReadyForQuery follows.
      const action = head.actions[head.next];
      head.next += 1;
      head.failed = true;
      if (action !== undefined) this.finish(action, failure);
      return;
    }
    if (head.kind === 'function') {
      this.finish(head.action, failure);
      return;
    }
    // Extended protocol: the server now discards every message up to Sync (protocol-flow).
    this.entries.shift();
    if (head.kind === 'execute') this.finish(head.action, failure);
    const skipped: ResultFacts = {
      outcome: 'failure',
      statusCode: fields.sqlstate,
      reason: NOT_EXECUTED_IN_BATCH,
    };
    while (this.entries.length > 0 && this.entries[0]?.kind !== 'sync') {
      const entry = this.entries.shift();
      if (entry !== undefined) this.finishEntry(entry, skipped);
    }
  }

  /** ReadyForQuery: ends a Query, a FunctionCall or a Sync, and whatever it left open. */
  ready(): void {
    while (this.entries.length > 0) {
      const entry = this.entries.shift();
      if (entry === undefined) break;
      if (entry.kind === 'query') {
        const facts: ResultFacts = entry.failed
          ? { outcome: 'failure', reason: NOT_EXECUTED_AFTER_ERROR }
          : { outcome: 'unknown', reason: NO_ANSWER };
        for (const action of entry.actions) this.finish(action, facts);
        return;
      }
      this.finishEntry(entry, { outcome: 'unknown', reason: NO_ANSWER });
      if (entry.kind === 'function' || entry.kind === 'sync') return;
    }
  }

  /** Sends every denial now due; `end` is where the last server message ended, if any. */
  settle(end: number | null): void {
    for (;;) {
      const head = this.entries[0];
      if (head?.kind !== 'denied' || !this.host.canInject()) return;
      this.entries.shift();
      const sqlstate = head.sqlstate ?? SqlState.InsufficientPrivilege;
      const error = errorResponse('ERROR', sqlstate, head.message);
      this.host.inject(
        head.simple ? Buffer.concat([error, readyForQuery(this.host.status())]) : error,
        end,
      );
    }
  }

  /** Ends every open statement (connection closing). */
  abandon(reason: string): void {
    const entries = this.entries;
    this.entries = [];
    for (const entry of entries) this.finishEntry(entry, { outcome: 'unknown', reason });
  }

  /** Records an action's outcome once. */
  finish(action: PendingAction, facts: ResultFacts): void {
    if (action.done) return;
    action.done = true;
    this.host.record(action.queryId, this.host.now() - action.startedAt, facts);
  }

  private finishEntry(entry: Pending, facts: ResultFacts): void {
    if (entry.kind === 'query') for (const action of entry.actions) this.finish(action, facts);
    else if (entry.kind === 'execute' || entry.kind === 'function')
      this.finish(entry.action, facts);
  }
}

function success(action: PendingAction, tag: string | null): ResultFacts {
  const rows = tag === null ? {} : rowsFromTag(tag, action.copyDirection);
  const counted =
    rows.returnedRows === undefined && rows.affectedRows === undefined && action.rows > 0;
  return {
    outcome: 'success',
    statusCode: '00000',
    ...rows,
    ...(counted ? { returnedRows: action.rows } : {}),
    ...(action.copyDirection === null ? {} : { copyBytes: action.copyBytes }),
  };
}
