/**
 * One PostgreSQL connection: startup and login, then every statement as a db-query record
 * (asked of policy, denied natively when refused) and its outcome as a db-result.
 *
 * Client bytes are forwarded as whole original messages after they were recorded; server
 * bytes are forwarded chunk by chunk, split only where portwarden must insert an answer of
 * its own. Server responses are matched to requests with a FIFO (`ResponseQueue`).
 *
 * Denials. A simple Query is refused whole (no statement of it is forwarded) with
 * ErrorResponse 42501 + ReadyForQuery (53100 when refused because the audit store is
 * unavailable). In the extended protocol the denied Execute and
 * every message after it up to Sync are dropped; the Sync itself is forwarded, so the
 * server still ends the batch (committing an implicit transaction of the statements before
 * the denial, as if the denied one had failed there) and its ReadyForQuery closes the batch
 * for the client. Our ErrorResponse is queued as a FIFO entry: it goes out when every
 * request before it was answered, in the place the server's own error would have been.
 * Should the server fail an earlier message of the batch, it discards the rest itself and
 * our error is dropped (a client sees one error per batch, as from a server).
 */
import { errorMessage, ProtocolError } from '../../errors.js';
import type { Decision } from '../../policy/action.js';
import { isStoreRefusal } from '../session.js';
import type { ProtocolSession, SessionContext, SessionFactory } from '../session.js';
import { BackendParser } from './backend-parser.js';
import { classifySql } from './classify.js';
import type { ClassifiedStatement } from './classify.js';
import { FrontendParser } from './frontend-parser.js';
import { BackendCode } from './messages.js';
import type {
  BackendMessage,
  ErrorFields,
  FrontendMessage,
  TransactionStatus,
} from './messages.js';
import { cancelRecord, loginRecord, queryRecord, resultRecord } from './records.js';
import type { LoginFacts } from './records.js';
import { redactSql } from './redact.js';
import { asOneStatement, parameterValues, StatementRegistry } from './registry.js';
import { ResponseQueue } from './response-queue.js';
import type { PendingAction } from './response-queue.js';
import { ENCRYPTION_REFUSED, errorResponse, SqlState, SSL_ACCEPT } from './serializer.js';

type Phase = 'startup' | 'auth' | 'ready' | 'ended';

/** Creates the session for one PostgreSQL connection. */
export const createPostgresSession: SessionFactory = (ctx) => new PostgresSession(ctx);

class PostgresSession implements ProtocolSession {
  private phase: Phase = 'startup';
  private login: LoginFacts = {};
  private backendPid: number | undefined;
  private loginRecorded = false;
  private txStatus: TransactionStatus = 'I';
  private readonly frontend: FrontendParser;
  private readonly backend: BackendParser;
  private readonly registry = new StatementRegistry();
  private readonly queue: ResponseQueue;

  // Client direction: a run of adjacent original bytes not yet written upstream, kept as
  // offsets so that a chunk of many small messages costs one view and one write.
  private runMemory: ArrayBufferLike | null = null;
  private runOffset = 0;
  private runLength = 0;
  /** After a denied Execute: drop client messages until Sync. */
  private discardUntilSync = false;
  /** Body bytes of the current passed-through client message are dropped too. */
  private dropBody = false;
  /** The server sent CopyInResponse: Sync/Flush do not end anything until CopyDone/CopyFail. */
  private clientCopyIn = false;
  private copyAction: PendingAction | null = null;
  private clientChunkLength = 0;

  // Server direction: the current chunk and how much of it went to the client.
  private serverChunk: Buffer | null = null;
  private serverForwarded = 0;

  constructor(private readonly ctx: SessionContext) {
    const limits = { maxMessageBytes: ctx.options.maxMessageBytes };
    this.frontend = new FrontendParser(
      {
        message: (msg, raw, end) => this.onFrontendMessage(msg, raw, end),
        body: (bytes) => this.onFrontendBody(bytes),
      },
      limits,
    );
    this.backend = new BackendParser(
      {
        message: (msg, end) => this.onBackendMessage(msg, end),
        skipped: (code, bodyLength) => this.onBackendSkipped(code, bodyLength),
        skippedEnd: (end) => this.queue.settle(end),
      },
      limits,
    );
    this.queue = new ResponseQueue({
      now: () => ctx.now(),
      record: (queryId, durationNs, facts) => {
        ctx.record(resultRecord(queryId, durationNs, facts));
      },
      inject: (bytes, end) => this.injectToClient(bytes, end),
      canInject: () => this.backend.atBoundary(),
      status: () => this.txStatus,
    });
  }

  onClientData(chunk: Buffer): void {
    if (this.phase === 'ended') return;
    this.clientChunkLength = chunk.length;
    try {
      this.frontend.push(chunk);
      this.flushUpstream();
    } catch (err) {
      this.fail(err);
    }
  }

  onServerData(chunk: Buffer): void {
    if (this.phase === 'ended' || chunk.length === 0) return;
    this.serverChunk = chunk;
    this.serverForwarded = 0;
    try {
      this.backend.push(chunk);
    } catch (err) {
      this.serverChunk = null;
      this.fail(err);
      return;
    }
    if (this.serverForwarded === 0) this.ctx.toClient(chunk);
    else if (this.serverForwarded < chunk.length)
      this.ctx.toClient(chunk.subarray(this.serverForwarded));
    this.serverChunk = null;
  }

  onClose(): void {
    if (this.phase === 'auth' && !this.loginRecorded) {
      this.loginRecorded = true;
      this.ctx.record(loginRecord(this.login, 'failure', this.backendPid, undefined));
    }
    this.phase = 'ended';
    this.queue.abandon('connection closed before the result');
  }

  // ---- client → server -------------------------------------------------------------

  private onFrontendMessage(msg: FrontendMessage, raw: Buffer, end: number): void {
    if (this.discardUntilSync) {
      if (msg.type !== 'Sync') {
        this.dropBody = true;
        return;
      }
      this.discardUntilSync = false;
    }
    this.dropBody = false;
    switch (msg.type) {
      case 'SSLRequest':
        this.answerSslRequest(end);
        return;
      case 'GSSENCRequest':
        this.ctx.toClient(ENCRYPTION_REFUSED);
        return;
      case 'CancelRequest':
        this.ctx.record(cancelRecord(msg.processId));
        this.forward(raw);
        return;
      case 'StartupMessage':
        this.startup(msg.parameters);
        this.forward(raw);
        return;
      case 'Query':
        this.query(msg.text, raw);
        return;
      case 'Parse': {
        const text = redactSql(msg.text);
        this.registry.parse(msg.name, asOneStatement(text, classifySql(text)));
        this.queue.push({ kind: 'parse' });
        this.forward(raw);
        return;
      }
      case 'Bind': {
        const values = this.ctx.options.recordValues
          ? parameterValues(msg.parameterFormats, msg.parameters)
          : undefined;
        this.registry.bind(msg.portal, msg.statement, values);
        this.queue.push({ kind: 'bind' });
        this.forward(raw);
        return;
      }
      case 'Execute':
        this.execute(msg.portal, raw);
        return;
      case 'Describe':
        this.queue.push({ kind: 'describe' });
        this.forward(raw);
        return;
      case 'Close':
        if (msg.target === 'statement') this.registry.closeStatement(msg.name);
        else this.registry.closePortal(msg.name);
        this.queue.push({ kind: 'close' });
        this.forward(raw);
        return;
      case 'Sync':
        // The server ignores Sync during COPY IN (protocol-flow, COPY operations).
        if (!this.clientCopyIn) this.queue.push({ kind: 'sync' });
        this.forward(raw);
        return;
      case 'FunctionCall':
        this.functionCall(msg.functionOid, raw);
        return;
      case 'CopyData':
        if (this.copyAction !== null) this.copyAction.copyBytes += msg.length;
        this.forward(raw);
        return;
      case 'CopyDone':
      case 'CopyFail':
        this.clientCopyIn = false;
        this.forward(raw);
        return;
      case 'Flush':
      case 'Terminate':
      case 'PasswordMessage':
        this.forward(raw);
        return;
      default: {
        const unreachable: never = msg;
        throw new ProtocolError('postgres', `unexpected message ${String(unreachable)}`);
      }
    }
  }

  private onFrontendBody(bytes: Buffer): void {
    if (!this.dropBody) this.forward(bytes);
  }

  private answerSslRequest(end: number): void {
    if (this.ctx.startClientTls === undefined) {
      this.ctx.toClient(ENCRYPTION_REFUSED);
      return;
    }
    // Bytes sent in clear after SSLRequest would be taken as inside TLS (CVE-2021-23214).
    if (end !== this.clientChunkLength || !this.frontend.atBoundary()) {
      throw new ProtocolError('postgres', 'unencrypted bytes after SSLRequest');
    }
    this.ctx.toClient(SSL_ACCEPT);
    this.ctx.startClientTls();
  }

  private startup(parameters: Readonly<Record<string, string>>): void {
    const user = parameters.user;
    // The database defaults to the user name (protocol-message-formats, StartupMessage).
    const database = parameters.database ?? user;
    const application = parameters.application_name;
    this.login = {
      ...(user === undefined ? {} : { user }),
      ...(database === undefined ? {} : { database }),
    };
    this.ctx.setIdentity({
      ...this.login,
      ...(application === undefined || application === '' ? {} : { application }),
    });
    this.phase = 'auth';
  }

  private decide(statement: ClassifiedStatement): Decision {
    return this.ctx.decide({
      protocol: 'postgres',
      sqlClass: statement.sqlClass,
      operation: statement.operation,
      tables: statement.tables,
      text: statement.text,
    });
  }

  private query(text: string, raw: Buffer): void {
    const statements = classifySql(redactSql(text));
    const decisions = statements.map((statement) => this.decide(statement));
    const denied = decisions.findIndex((decision) => decision.verdict === 'deny');
    const actions: PendingAction[] = [];
    for (let i = 0; i < statements.length; i++) {
      const statement = statements[i];
      const decision = decisions[i];
      if (statement === undefined || decision === undefined) continue;
      const queryId = this.ctx.record(queryRecord(statement, { facts: this.login, decision }));
      if (decision.verdict !== 'deny') actions.push(this.queue.action(queryId));
    }
    const refused = decisions[denied];
    if (refused === undefined) {
      this.queue.push({ kind: 'query', actions, next: 0, failed: false });
      this.forward(raw);
      return;
    }
    // The Query is one message: refused whole, its allowed statements are not run either.
    const reason = `not executed: statement ${denied + 1} of the query was denied`;
    const answer = denial(refused);
    for (const action of actions)
      this.queue.finish(action, { outcome: 'failure', statusCode: answer.sqlstate, reason });
    this.queue.push({ kind: 'denied', simple: true, ...answer });
  }

  private execute(portalName: string, raw: Buffer): void {
    const portal = this.registry.portal(portalName);
    const statement: ClassifiedStatement = portal?.prepared?.statement ?? {
      text: '',
      sqlClass: 'unknown',
      operation: 'UNKNOWN',
      tables: [],
    };
    const decision = this.decide(statement);
    const queryId = this.ctx.record(
      queryRecord(statement, {
        facts: this.login,
        decision,
        statementName: portal?.statementName ?? '',
        portal: portalName,
        ...(portal?.parameters === undefined ? {} : { parameters: portal.parameters }),
      }),
    );
    if (decision.verdict === 'deny') {
      this.discardUntilSync = true;
      this.queue.push({ kind: 'denied', simple: false, ...denial(decision) });
      return;
    }
    this.queue.push({ kind: 'execute', action: this.queue.action(queryId) });
    this.forward(raw);
  }

  private functionCall(functionOid: number, raw: Buffer): void {
    const statement: ClassifiedStatement = {
      text: `function ${functionOid}`,
      sqlClass: 'unknown',
      operation: 'FUNCTION CALL',
      tables: [],
    };
    const decision = this.decide(statement);
    const queryId = this.ctx.record(queryRecord(statement, { facts: this.login, decision }));
    if (decision.verdict === 'deny') {
      this.queue.push({ kind: 'denied', simple: true, ...denial(decision) });
      return;
    }
    this.queue.push({ kind: 'function', action: this.queue.action(queryId) });
    this.forward(raw);
  }

  /** Queues original client bytes, merging views that are adjacent in memory. */
  private forward(bytes: Buffer): void {
    if (this.runMemory === bytes.buffer && this.runOffset + this.runLength === bytes.byteOffset) {
      this.runLength += bytes.length;
      return;
    }
    this.flushUpstream();
    this.runMemory = bytes.buffer;
    this.runOffset = bytes.byteOffset;
    this.runLength = bytes.length;
  }

  private flushUpstream(): void {
    const memory = this.runMemory;
    if (memory === null) return;
    this.runMemory = null;
    if (this.runLength > 0)
      this.ctx.toUpstream(Buffer.from(memory, this.runOffset, this.runLength));
  }

  // ---- server → client -------------------------------------------------------------

  private onBackendMessage(msg: BackendMessage, end: number): void {
    switch (msg.type) {
      case 'Authentication':
        // Only the code is read (SASL and password exchanges are never decoded); success is
        // recorded at the first ReadyForQuery, once BackendKeyData's pid is known.
        break;
      case 'BackendKeyData':
        this.backendPid = msg.processId;
        break;
      case 'ErrorResponse':
        if (this.phase === 'auth') this.loginFailed(msg.fields);
        else this.queue.error(msg.fields);
        break;
      case 'ReadyForQuery':
        this.txStatus = msg.status;
        if (this.phase === 'auth') {
          this.loginRecorded = true;
          this.ctx.record(loginRecord(this.login, 'success', this.backendPid, undefined));
          this.phase = 'ready';
          this.ctx.startupDone?.();
        } else {
          this.queue.ready();
        }
        break;
      case 'CommandComplete':
        this.queue.complete(msg.tag);
        this.copyAction = null;
        break;
      case 'EmptyQueryResponse':
      case 'PortalSuspended':
        this.queue.complete(null);
        break;
      case 'ParseComplete':
        this.queue.answer('parse');
        break;
      case 'BindComplete':
        this.queue.answer('bind');
        break;
      case 'CloseComplete':
        this.queue.answer('close');
        break;
      case 'NoData':
        this.queue.answer('describe');
        break;
      case 'CopyInResponse':
      case 'CopyOutResponse':
      case 'CopyBothResponse':
        this.copyAction = this.queue.current() ?? null;
        if (this.copyAction !== null)
          this.copyAction.copyDirection = msg.type === 'CopyOutResponse' ? 'out' : 'in';
        this.clientCopyIn = msg.type !== 'CopyOutResponse';
        break;
      case 'ParameterStatus':
      case 'CopyDone':
      case 'NegotiateProtocolVersion':
        break;
      default: {
        const unreachable: never = msg;
        throw new ProtocolError('postgres', `unexpected message ${String(unreachable)}`);
      }
    }
    this.queue.settle(end);
  }

  private onBackendSkipped(code: number, bodyLength: number): void {
    switch (code) {
      case BackendCode.DataRow: {
        const action = this.queue.current();
        if (action !== undefined) action.rows += 1;
        return;
      }
      case BackendCode.CopyData:
        if (this.copyAction !== null) this.copyAction.copyBytes += bodyLength;
        return;
      case BackendCode.RowDescription:
        // Answers a Describe; in a simple Query it only heads the rows.
        this.queue.answer('describe');
        return;
      case BackendCode.FunctionCallResponse:
        this.queue.functionResult();
        return;
      default:
        return;
    }
  }

  private loginFailed(fields: ErrorFields): void {
    this.loginRecorded = true;
    this.ctx.record(loginRecord(this.login, 'failure', this.backendPid, fields));
    this.phase = 'ready';
  }

  /** Writes bytes of our own to the client right after the server message ending at `end`. */
  private injectToClient(bytes: Buffer, end: number | null): void {
    const chunk = this.serverChunk;
    if (chunk !== null && end !== null) {
      if (end > this.serverForwarded) this.ctx.toClient(chunk.subarray(this.serverForwarded, end));
      this.serverForwarded = end;
    }
    this.ctx.toClient(bytes);
  }

  private fail(err: unknown): void {
    if (!(err instanceof ProtocolError)) throw err;
    this.phase = 'ended';
    this.runMemory = null;
    this.ctx.toClient(errorResponse('FATAL', SqlState.ProtocolViolation, err.detail));
    this.queue.abandon(`protocol error: ${errorMessage(err)}`);
    this.ctx.close('protocol-error', err.detail);
  }
}

/**
 * Our answer to a refused statement: 42501 for a policy denial, 53100 (disk_full) while the
 * audit store cannot record it — the statement was not run and may be retried.
 */
function denial(decision: Decision): { message: string; sqlstate: string } {
  if (isStoreRefusal(decision)) {
    return {
      message:
        'portwarden: the audit store is unavailable, so this statement was not recorded and not run; retry later',
      sqlstate: SqlState.DiskFull,
    };
  }
  const why = decision.ruleId === undefined ? decision.reason : `rule ${decision.ruleId}`;
  return {
    message: `permission denied by portwarden policy: ${why}`,
    sqlstate: SqlState.InsufficientPrivilege,
  };
}
