import type { EventInput, EventOutcome, JsonObject, JsonValue } from '../../audit/event.js';
import type { Decision, SqlClass } from '../../policy/action.js';

/**
 * The records a MySQL session makes (DESIGN §4, §6): `db-query` when an action is seen
 * (before it is forwarded), `db-result` with its outcome, `db-login` after authentication.
 * Field names follow OpenTelemetry's `db.*` with `db.system: "mysql"`.
 */

export const DB_SYSTEM = 'mysql';

/** Who and where, as far as the protocol told us. */
export interface DbIdentity {
  readonly user?: string;
  readonly namespace?: string;
}

export interface QueryFacts {
  readonly operation: string;
  /** Redacted statement text (or a command description such as `COM_INIT_DB orders`). */
  readonly text: string;
  readonly sqlClass: SqlClass;
  readonly tables: readonly string[];
  /** Bound values, only when the listener records values. */
  readonly parameters?: readonly JsonValue[];
  /** COM_STMT_FETCH: rows asked for, and the `db-query` of the execute that opened the cursor. */
  readonly fetch?: { readonly rows: number; readonly executeId?: string };
}

/** How one action ended. */
export interface ResultFacts {
  readonly outcome: EventOutcome;
  readonly sqlState?: string;
  readonly errorNumber?: number;
  readonly message?: string;
  readonly returnedRows?: number;
  readonly affectedRows?: number | bigint;
  readonly lastInsertId?: number | bigint;
  readonly warnings?: number;
  /** Why there is no server answer (not executed, connection closed). */
  readonly reason?: string;
  /** The execute opened a cursor: its rows are counted on the COM_STMT_FETCH records. */
  readonly cursor?: boolean;
}

function dbFields(identity: DbIdentity, operation: string): JsonObject {
  const db: JsonObject = { system: DB_SYSTEM, operation };
  if (identity.namespace !== undefined) db.namespace = identity.namespace;
  if (identity.user !== undefined) db.user = identity.user;
  return db;
}

/** A JSON-safe integer: numbers stay numbers, 64-bit values beyond 2^53 become strings. */
export function jsonInteger(value: number | bigint): JsonValue {
  return typeof value === 'bigint' ? value.toString() : value;
}

/** `db-query`: the action as seen, with policy's decision. */
export function queryRecord(
  identity: DbIdentity,
  query: QueryFacts,
  decision: Decision,
  denied: boolean,
  reason: string,
): EventInput {
  const queryFields: JsonObject = { text: query.text, class: query.sqlClass };
  if (query.tables.length > 0) queryFields.tables = [...query.tables];
  if (query.parameters !== undefined) queryFields.parameters = [...query.parameters];
  if (query.fetch !== undefined) {
    queryFields.fetch = {
      rows_requested: query.fetch.rows,
      ...(query.fetch.executeId !== undefined ? { execute_id: query.fetch.executeId } : {}),
    };
  }
  const fields: Record<string, JsonValue> = {
    db: { ...dbFields(identity, query.operation), query: queryFields },
  };
  if (decision.ruleId !== undefined) fields.rule = { id: decision.ruleId };
  if (decision.policyVersion !== undefined) fields.policy = { version: decision.policyVersion };
  return {
    event: {
      action: 'db-query',
      kind: !denied && decision.verdict === 'alert' ? 'alert' : 'event',
      category: ['database'],
      type: ['access', denied ? 'denied' : 'allowed'],
      ...(denied ? { outcome: 'failure' as const } : {}),
      reason,
    },
    ...fields,
  };
}

/** `db-result`: the outcome of the `db-query` whose id is `reference`. */
export function resultRecord(
  identity: DbIdentity,
  operation: string,
  reference: string,
  durationNs: bigint,
  result: ResultFacts,
): EventInput {
  const response: JsonObject = {};
  if (result.sqlState !== undefined) response.status_code = result.sqlState;
  if (result.errorNumber !== undefined) response.error_number = result.errorNumber;
  if (result.returnedRows !== undefined) response.returned_rows = result.returnedRows;
  if (result.affectedRows !== undefined) response.affected_rows = jsonInteger(result.affectedRows);
  if (result.lastInsertId !== undefined && result.lastInsertId !== 0) {
    response.last_insert_id = jsonInteger(result.lastInsertId);
  }
  if (result.warnings !== undefined && result.warnings > 0) response.warnings = result.warnings;
  if (result.cursor === true) response.cursor_opened = true;
  const db = dbFields(identity, operation);
  if (Object.keys(response).length > 0) db.response = response;
  return {
    event: {
      action: 'db-result',
      category: ['database'],
      type: ['info'],
      outcome: result.outcome,
      duration: Number(durationNs),
      reference,
      ...(result.reason !== undefined ? { reason: result.reason } : {}),
    },
    db,
    ...(result.message !== undefined ? { error: { message: result.message } } : {}),
  };
}

export interface LoginFacts {
  readonly outcome: EventOutcome;
  readonly authPlugin?: string;
  readonly application?: string;
  readonly clientName?: string;
  readonly clientVersion?: string;
  readonly changeUser: boolean;
  readonly sqlState?: string;
  readonly errorNumber?: number;
  readonly message?: string;
  readonly reason?: string;
}

/** `db-login`: the handshake (or COM_CHANGE_USER) finished, with the server's verdict. */
export function loginRecord(identity: DbIdentity, login: LoginFacts): EventInput {
  const db: JsonObject = { system: DB_SYSTEM };
  if (identity.namespace !== undefined) db.namespace = identity.namespace;
  if (identity.user !== undefined) db.user = identity.user;
  if (login.errorNumber !== undefined) {
    db.response = { status_code: login.sqlState ?? 'HY000', error_number: login.errorNumber };
  }
  // Under db.login, not a top-level `mysql` object: the session annotates `mysql` (server
  // connection id and version) onto every record and must not be shadowed.
  const details: JsonObject = { change_user: login.changeUser };
  if (login.authPlugin !== undefined) details.auth_plugin = login.authPlugin;
  if (login.clientName !== undefined) details.client_name = login.clientName;
  if (login.clientVersion !== undefined) details.client_version = login.clientVersion;
  if (login.application !== undefined) details.program_name = login.application;
  db.login = details;
  return {
    event: {
      action: 'db-login',
      category: ['authentication', 'database'],
      type: ['start'],
      outcome: login.outcome,
      ...(login.reason !== undefined ? { reason: login.reason } : {}),
    },
    db,
    ...(login.message !== undefined ? { error: { message: login.message } } : {}),
  };
}
