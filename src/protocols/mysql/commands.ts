import type { ActionFacts } from '../../policy/action.js';
import { classifyStatement } from './classify.js';
import type { Classification } from './classify.js';
import { Command } from './messages.js';
import type { ExpectedResponse } from './messages.js';
import type { QueryFacts } from './records.js';
import { mentionsSecret, redactSql, redactTokens } from './redact.js';
import { splitStatements } from './split.js';

/**
 * What each client command means to the session: an action (recorded and decided) with the
 * response shape that follows it, or housekeeping that is only forwarded.
 */

/** One action about to be decided: facts for policy, text for the record. */
export interface ActionSpec {
  readonly query: QueryFacts;
  /** USE / COM_INIT_DB: the database that becomes current when the server says OK. */
  readonly useDatabase?: string;
}

/** A statement the server prepared, by id. */
export interface Prepared {
  readonly text: string;
  readonly classification: Classification;
  readonly paramCount: number;
  /** Its text names a password: bound values are never recorded. */
  readonly sensitive: boolean;
  types?: Buffer;
  /** The `db-query` record of its latest COM_STMT_EXECUTE (a fetch names the cursor's). */
  lastExecuteId?: string;
}

/** How the session treats a command it does not decode further. */
export type CommandPlan =
  | { readonly kind: 'forward-only' }
  | { readonly kind: 'housekeeping'; readonly expect: ExpectedResponse }
  | { readonly kind: 'action'; readonly spec: ActionSpec; readonly expect: ExpectedResponse };

/** Session-level commands that are answered but are not actions (no record, no policy). */
const HOUSEKEEPING: ReadonlyMap<number, ExpectedResponse> = new Map<number, ExpectedResponse>([
  [Command.Ping, 'simple'],
  [Command.SetOption, 'simple'],
  [Command.ResetConnection, 'simple'],
  [Command.Statistics, 'statistics'],
]);

/** Commands answered by one OK/ERR/EOF packet. */
const SIMPLE_REPLY = new Set<number>([
  Command.Shutdown,
  Command.Refresh,
  Command.Debug,
  Command.RegisterSlave,
]);

/** `COM_SHUTDOWN`, … from the constant names. */
const COMMAND_NAMES: ReadonlyMap<number, string> = new Map(
  Object.entries(Command).map(([name, code]) => [
    code,
    `COM_${name.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()}`,
  ]),
);

export function commandName(command: number): string {
  return COMMAND_NAMES.get(command) ?? `COM_0x${command.toString(16).padStart(2, '0')}`;
}

/** The plan for a command byte without a decoder of its own. */
export function planCommand(command: number): CommandPlan {
  if (command === Command.Quit) return { kind: 'forward-only' };
  const housekeeping = HOUSEKEEPING.get(command);
  if (housekeeping !== undefined) return { kind: 'housekeeping', expect: housekeeping };
  const name = commandName(command);
  if (command === Command.ProcessInfo) {
    const query = {
      operation: 'SHOW PROCESSLIST',
      text: name,
      sqlClass: 'read',
      tables: [],
    } as const;
    return { kind: 'action', spec: { query }, expect: 'text-result' };
  }
  // Administration and anything unknown: no class fits, so unknown (most privileged).
  const expect: ExpectedResponse =
    command === Command.BinlogDump || command === Command.BinlogDumpGtid
      ? 'opaque'
      : SIMPLE_REPLY.has(command)
        ? 'simple'
        : 'text-result';
  // Operations are SQL-like words a policy can name: COM_BINLOG_DUMP → BINLOG DUMP.
  const operation = COMMAND_NAMES.has(command) ? name.slice(4).replaceAll('_', ' ') : 'UNKNOWN';
  const query = { operation, text: name, sqlClass: 'unknown', tables: [] } as const;
  return { kind: 'action', spec: { query }, expect };
}

/** One action per statement of a COM_QUERY text: classified, redacted. */
export function queryActions(text: string): ActionSpec[] {
  return splitStatements(text).map((statement): ActionSpec => {
    const classification = classifyStatement(statement);
    const query: QueryFacts = {
      operation: classification.operation,
      text: redactTokens(statement.text, statement.tokens, statement.alternative),
      sqlClass: classification.sqlClass,
      tables: classification.tables,
    };
    const database = classification.database;
    return { query, ...(database !== undefined ? { useDatabase: database } : {}) };
  });
}

/** Classifies and redacts a prepared statement's text once, when the server accepts it. */
export function prepareStatement(text: string, paramCount: number): Prepared {
  const parts = splitStatements(text);
  const only = parts.length === 1 ? parts[0] : undefined;
  if (only === undefined) {
    const classification: Classification = { sqlClass: 'unknown', operation: '', tables: [] };
    return { text: redactSql(text), classification, paramCount, sensitive: true };
  }
  const alternative = only.alternative;
  return {
    text: redactTokens(only.text, only.tokens, alternative),
    classification: classifyStatement(only),
    paramCount,
    sensitive:
      mentionsSecret(only.tokens) || (alternative !== undefined && mentionsSecret(alternative)),
  };
}

/** Policy facts of one action. */
export function actionFacts(query: QueryFacts): ActionFacts {
  return {
    protocol: 'mysql',
    sqlClass: query.sqlClass,
    operation: query.operation,
    tables: query.tables,
    text: query.text,
  };
}
