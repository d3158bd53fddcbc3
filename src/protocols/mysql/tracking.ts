import type { OkFields } from './messages.js';
import type { ResultFacts } from './records.js';

/** One recorded action waiting for (or holding) its outcome. */
export interface Tracked {
  readonly queryId: string;
  readonly operation: string;
  readonly startedAt: bigint;
  /** For USE / COM_INIT_DB: the database that becomes current on success. */
  readonly useDatabase?: string;
  results: number;
  rows: number;
  affected: number | bigint;
  lastInsertId: number | bigint;
  warnings: number;
  /** A COM_STMT_EXECUTE opened a cursor: its rows come through COM_STMT_FETCH. */
  cursor?: boolean;
  error?: { readonly errorNumber: number; readonly sqlState: string; readonly message: string };
  finished: boolean;
}

/** What the session owes the client, in command order. */
export type Pending =
  /** Forwarded actions (one per statement of a COM_QUERY); results match them in order. */
  | { readonly kind: 'actions'; readonly actions: Tracked[]; index: number }
  | { readonly kind: 'prepare'; readonly text: string }
  | {
      readonly kind: 'login';
      readonly changeUser: boolean;
      readonly user: string;
      readonly database?: string;
    }
  /** Housekeeping (ping, reset, …): answered, not recorded. */
  | { readonly kind: 'silent' }
  /** A denial to send once everything before it is answered. */
  | { readonly kind: 'denied'; readonly packet: Buffer };

export function track(
  queryId: string,
  operation: string,
  startedAt: bigint,
  useDatabase?: string,
): Tracked {
  return {
    queryId,
    operation,
    startedAt,
    ...(useDatabase !== undefined ? { useDatabase } : {}),
    results: 0,
    rows: 0,
    affected: 0,
    lastInsertId: 0,
    warnings: 0,
    finished: false,
  };
}

function addInteger(a: number | bigint, b: number | bigint): number | bigint {
  if (typeof a === 'number' && typeof b === 'number' && Number.isSafeInteger(a + b)) return a + b;
  return BigInt(a) + BigInt(b);
}

/** Folds an OK packet (or result-set terminator) into the action it answers. */
export function addOk(tracked: Tracked, ok: OkFields): void {
  tracked.results += 1;
  tracked.affected = addInteger(tracked.affected, ok.affectedRows);
  if (ok.lastInsertId !== 0) tracked.lastInsertId = ok.lastInsertId;
  tracked.warnings += ok.warnings;
}

export function addRows(
  tracked: Tracked,
  rows: number,
  warnings: number,
  cursorOpened = false,
): void {
  tracked.results += 1;
  tracked.rows += rows;
  tracked.warnings += warnings;
  if (cursorOpened) tracked.cursor = true;
}

export function addError(
  tracked: Tracked,
  error: { readonly errorNumber: number; readonly sqlState: string; readonly message: string },
): void {
  tracked.results += 1;
  tracked.error = {
    errorNumber: error.errorNumber,
    sqlState: error.sqlState,
    message: error.message,
  };
}

/** The outcome of an action the server answered. */
export function outcomeOf(tracked: Tracked): ResultFacts {
  if (tracked.error !== undefined) {
    return {
      outcome: 'failure',
      sqlState: tracked.error.sqlState,
      errorNumber: tracked.error.errorNumber,
      message: tracked.error.message,
      ...(tracked.rows > 0 ? { returnedRows: tracked.rows } : {}),
    };
  }
  return {
    outcome: 'success',
    sqlState: '00000',
    returnedRows: tracked.rows,
    affectedRows: tracked.affected,
    lastInsertId: tracked.lastInsertId,
    warnings: tracked.warnings,
    ...(tracked.cursor === true ? { cursor: true } : {}),
  };
}
