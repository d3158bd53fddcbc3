/**
 * The connection's prepared statements (COM_STMT_*): what the server prepared, by id, and
 * the facts of an execute or a cursor fetch of one of them.
 */
import type { ClientMessage } from './messages.js';
import { prepareStatement } from './commands.js';
import type { Prepared } from './commands.js';
import { decodeExecuteParams } from './params.js';
import type { QueryFacts } from './records.js';

/** MariaDB: statement id -1 runs the statement prepared last (COM_STMT_EXECUTE). */
const LAST_PREPARED = 0xffffffff;

type Execute = Extract<ClientMessage, { type: 'stmt-execute' | 'stmt-bulk-execute' }>;
type Fetch = Extract<ClientMessage, { type: 'stmt-fetch' }>;

export class PreparedStatements {
  private readonly byId = new Map<number, Prepared>();
  private lastPrepareText: string | undefined;
  /** COM_STMT_SEND_LONG_DATA since the last execute: the bound values are not all in it. */
  private longDataSent = false;

  /** COM_STMT_PREPARE seen (MariaDB may execute it as id -1 before the answer). */
  preparing(text: string): void {
    this.lastPrepareText = text;
  }

  /** The server prepared `text` as `id`: classified and redacted once. */
  prepared(id: number, text: string, paramCount: number): void {
    this.byId.set(id, prepareStatement(text, paramCount));
  }

  /** COM_STMT_CLOSE. */
  close(id: number): void {
    this.byId.delete(id);
  }

  /** COM_CHANGE_USER and COM_RESET_CONNECTION drop every statement. */
  clear(): void {
    this.byId.clear();
  }

  /** COM_STMT_RESET drops the long data sent so far. */
  reset(): void {
    this.longDataSent = false;
  }

  /** COM_STMT_SEND_LONG_DATA. */
  longData(): void {
    this.longDataSent = true;
  }

  /**
   * The facts of COM_STMT_EXECUTE (or MariaDB's bulk execute): the statement's class and
   * text, and the bound values when they are recorded and none came as long data.
   */
  execute(
    message: Execute,
    recordValues: boolean,
  ): { readonly query: QueryFacts; readonly statement: Prepared | undefined } {
    let statement = this.byId.get(message.statementId);
    if (
      statement === undefined &&
      message.statementId === LAST_PREPARED &&
      this.lastPrepareText !== undefined
    ) {
      statement = prepareStatement(this.lastPrepareText, 0);
    }
    const classification = statement?.classification ?? {
      sqlClass: 'unknown' as const,
      operation: 'EXECUTE',
      tables: [],
    };
    let parameters: QueryFacts['parameters'];
    if (
      message.type === 'stmt-execute' &&
      recordValues &&
      statement !== undefined &&
      !statement.sensitive &&
      !this.longDataSent
    ) {
      const decoded = decodeExecuteParams(message.payload, statement.paramCount, statement.types);
      if (decoded !== null) {
        statement.types = decoded.types;
        parameters = decoded.values;
      }
    }
    this.longDataSent = false;
    const query: QueryFacts = {
      operation: classification.operation,
      text: statement?.text ?? '',
      sqlClass: classification.sqlClass,
      tables: classification.tables,
      ...(parameters !== undefined ? { parameters } : {}),
    };
    return { query, statement };
  }

  /** The execute was recorded as `queryId`: a later fetch of its cursor names it. */
  executed(message: Execute, statement: Prepared | undefined, queryId: string | undefined): void {
    if (statement !== undefined && message.statementId !== LAST_PREPARED) {
      statement.lastExecuteId = queryId;
    }
  }

  /**
   * COM_STMT_FETCH: rows of a cursor an execute opened. An action like the execute (same
   * statement facts), whose `db-result` counts the rows of this fetch.
   */
  fetch(message: Fetch): QueryFacts {
    const statement = this.byId.get(message.statementId);
    const classification = statement?.classification ?? {
      sqlClass: 'unknown' as const,
      operation: 'FETCH',
      tables: [],
    };
    const executeId = statement?.lastExecuteId;
    return {
      operation: classification.operation,
      text: statement?.text ?? '',
      sqlClass: classification.sqlClass,
      tables: classification.tables,
      fetch: { rows: message.rows, ...(executeId !== undefined ? { executeId } : {}) },
    };
  }
}
