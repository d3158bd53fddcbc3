/**
 * The PostgreSQL records a session makes (DESIGN §4): db-login, db-cancel, db-query,
 * db-result. Plain builders; the gateway adds tuple, identity and ids.
 */
import type { EventInput, EventOutcome, JsonObject, JsonValue } from '../../audit/event.js';
import type { Decision } from '../../policy/action.js';
import type { ErrorFields } from './messages.js';
import type { ClassifiedStatement } from './classify.js';

const DB_SYSTEM = 'postgresql';

/** Who the connection is as far as the startup packet said. */
export interface LoginFacts {
  readonly user?: string;
  readonly database?: string;
}

export function loginRecord(
  facts: LoginFacts,
  outcome: EventOutcome,
  backendPid: number | undefined,
  error: ErrorFields | undefined,
): EventInput {
  const db: JsonObject = { system: DB_SYSTEM };
  if (facts.database !== undefined) db.namespace = facts.database;
  if (facts.user !== undefined) db.user = facts.user;
  if (backendPid !== undefined) db.backend_pid = backendPid;
  if (error !== undefined) db.response = { status_code: error.sqlstate };
  return {
    event: {
      action: 'db-login',
      category: ['database', 'authentication'],
      type: ['start'],
      outcome,
    },
    db,
    ...(error === undefined ? {} : { error: { message: error.message } }),
  };
}

export function cancelRecord(backendPid: number): EventInput {
  return {
    event: { action: 'db-cancel', category: ['database'], type: ['info'] },
    db: { system: DB_SYSTEM, cancel: { backend_pid: backendPid } },
  };
}

/** Everything a db-query record says beyond the statement itself. */
export interface QueryContext {
  readonly facts: LoginFacts;
  readonly decision: Decision;
  readonly statementName?: string;
  readonly portal?: string;
  /** Present only when the listener records values. */
  readonly parameters?: readonly (string | null)[];
}

export function queryRecord(statement: ClassifiedStatement, context: QueryContext): EventInput {
  const { decision, facts } = context;
  const denied = decision.verdict === 'deny';
  const query: JsonObject = { text: statement.text, class: statement.sqlClass };
  if (statement.tables.length > 0) query.tables = [...statement.tables];
  if (context.parameters !== undefined) query.parameters = [...context.parameters];
  const db: JsonObject = { system: DB_SYSTEM, operation: statement.operation, query };
  if (facts.database !== undefined) db.namespace = facts.database;
  if (facts.user !== undefined) db.user = facts.user;
  if (context.statementName !== undefined || context.portal !== undefined) {
    const named: JsonObject = {};
    if (context.statementName !== undefined) named.name = context.statementName;
    if (context.portal !== undefined) named.portal = context.portal;
    db.statement = named;
  }
  const record: { [field: string]: JsonValue } = { db };
  if (decision.ruleId !== undefined) record.rule = { id: decision.ruleId };
  if (decision.policyVersion !== undefined) record.policy = { version: decision.policyVersion };
  return {
    event: {
      action: 'db-query',
      // An `alert` verdict lets the statement pass and marks its record as an alert.
      kind: decision.verdict === 'alert' ? 'alert' : 'event',
      category: ['database'],
      type: ['access', denied ? 'denied' : 'allowed'],
      outcome: denied ? 'failure' : 'success',
      ...(denied ? { reason: decision.reason } : {}),
    },
    ...record,
  };
}

/** What came back for one statement. */
export interface ResultFacts {
  readonly outcome: EventOutcome;
  /** SQLSTATE; "00000" on success. */
  readonly statusCode?: string;
  readonly errorMessage?: string;
  readonly returnedRows?: number;
  readonly affectedRows?: number;
  readonly copyBytes?: number;
  /** Why there is no server answer (not executed, connection closed). */
  readonly reason?: string;
}

export function resultRecord(queryId: string, durationNs: bigint, facts: ResultFacts): EventInput {
  const response: JsonObject = {};
  if (facts.statusCode !== undefined) response.status_code = facts.statusCode;
  if (facts.returnedRows !== undefined) response.returned_rows = facts.returnedRows;
  if (facts.affectedRows !== undefined) response.affected_rows = facts.affectedRows;
  if (facts.copyBytes !== undefined) response.copy_bytes = facts.copyBytes;
  return {
    event: {
      action: 'db-result',
      category: ['database'],
      type: ['info'],
      outcome: facts.outcome,
      reference: queryId,
      duration: Number(durationNs),
      ...(facts.reason === undefined ? {} : { reason: facts.reason }),
    },
    db: { system: DB_SYSTEM, response },
    ...(facts.errorMessage === undefined ? {} : { error: { message: facts.errorMessage } }),
  };
}

/** Rows a CommandComplete tag reports (protocol-message-formats, CommandComplete). */
export interface TagRows {
  readonly returnedRows?: number;
  readonly affectedRows?: number;
}

/** `SELECT 5`, `INSERT 0 1`, `UPDATE 3`, `COPY 10` → row counts; COPY counts by direction. */
export function rowsFromTag(tag: string, copyDirection: 'in' | 'out' | null): TagRows {
  const space = tag.lastIndexOf(' ');
  if (space < 0) return {};
  const count = Number(tag.slice(space + 1));
  if (!Number.isSafeInteger(count) || count < 0) return {};
  const verb = tag.slice(0, tag.indexOf(' '));
  switch (verb) {
    case 'SELECT':
    case 'FETCH':
      return { returnedRows: count };
    case 'INSERT':
    case 'UPDATE':
    case 'DELETE':
    case 'MERGE':
      return { affectedRows: count };
    case 'COPY':
      return copyDirection === 'out' ? { returnedRows: count } : { affectedRows: count };
    default:
      return {};
  }
}
