/**
 * The MySQL/MariaDB session: client and server messages in, records and decisions out.
 * Prepared statements live in statements.ts, the outcomes owed in replies.ts and
 * tracking.ts, the session's own ERR answers in denials.ts.
 */
import { ProtocolError } from '../../errors.js';
import type { Decision } from '../../policy/action.js';
import type { ProtocolSession, SessionContext, SessionFactory } from '../session.js';
import { MysqlClientParser } from './client-parser.js';
import { actionFacts, planCommand, queryActions } from './commands.js';
import type { ActionSpec } from './commands.js';
import {
  answerPacket,
  changeUserRefusedPacket,
  changeUserRefusedRecord,
  CHANGE_USER_REFUSED,
  deniedAnswer,
  protocolErrorPacket,
} from './denials.js';
import { Forwarder } from './forwarder.js';
import { shiftSequenceIds } from './framer.js';
import { clientLogin, errorFacts, loginFacts } from './login.js';
import type { ClientLogin } from './login.js';
import { Capability, Command, MariadbCapability, STRIPPED_CAPABILITIES } from './messages.js';
import type { ClientMessage, ExpectedResponse, ServerMessage } from './messages.js';
import { loginRecord, queryRecord } from './records.js';
import type { DbIdentity, QueryFacts } from './records.js';
import { clearResponseCapabilities, editGreetingCapabilities } from './serializer.js';
import { MysqlServerParser } from './server-parser.js';
import { ReplyQueue } from './replies.js';
import { PreparedStatements } from './statements.js';
import { addError, addOk, addRows, track } from './tracking.js';
import type { Pending } from './tracking.js';

class MysqlSession implements ProtocolSession {
  private readonly client: MysqlClientParser;
  private readonly server: MysqlServerParser;
  private readonly toServer: Forwarder;
  private readonly toClient: Forwarder;
  private readonly replies: ReplyQueue;
  private readonly statements = new PreparedStatements();
  private identity: DbIdentity = {};
  private greeted = false;
  private serverCapabilities = 0;
  private serverMariadbCapabilities = 0;
  private tlsStarting = false;
  /** TLS is terminated here: the SSLRequest was not forwarded, so auth sequence ids are off by one. */
  private shiftAuth = false;
  private login: ClientLogin = {};
  private closed = false;

  constructor(private readonly ctx: SessionContext) {
    const max = ctx.options.maxMessageBytes;
    this.toServer = new Forwarder((bytes) => ctx.toUpstream(bytes));
    this.toClient = new Forwarder((bytes) => ctx.toClient(bytes));
    this.replies = new ReplyQueue({
      identity: () => this.identity,
      record: (input) => ctx.record(input),
      now: () => ctx.now(),
      sendToClient: (packet) => {
        this.toClient.flush();
        ctx.toClient(packet);
      },
      useDatabase: (database) => {
        this.identity = { ...this.identity, namespace: database };
        ctx.setIdentity({ database });
      },
    });
    this.client = new MysqlClientParser(max, {
      message: (message, raw) => this.onClientMessage(message, raw),
      passthrough: (source, start, end) => this.toServer.add(source, start, end),
    });
    this.server = new MysqlServerParser(max, {
      message: (message, raw) => this.onServerMessage(message, raw),
      passthrough: (source, start, end) => this.toClient.add(source, start, end),
    });
  }

  onClientData(chunk: Buffer): void {
    if (this.closed) return;
    let used: number;
    try {
      used = this.client.push(chunk);
    } catch (err) {
      this.toServer.flush();
      return this.fail(err, this.client.lastSequenceId() + 1);
    }
    this.toServer.flush();
    if (this.tlsStarting) this.beginTls(chunk.subarray(used));
  }

  onServerData(chunk: Buffer): void {
    if (this.closed) return;
    try {
      this.server.push(chunk);
    } catch (err) {
      this.toClient.flush();
      return this.fail(err, this.server.lastSequenceId() + 1);
    }
    this.toClient.flush();
  }

  /** Outcomes still owed are recorded as unknown: the connection ended first. */
  onClose(): void {
    this.closed = true;
    for (const entry of this.replies.drain()) {
      if (entry.kind !== 'login') continue;
      const facts = loginFacts(this.login, entry.changeUser);
      const reason = 'connection closed during authentication';
      this.ctx.record(loginRecord(this.identity, { ...facts, outcome: 'unknown', reason }));
    }
  }

  // ── client → server ──────────────────────────────────────────────────────────────────

  private onClientMessage(message: ClientMessage, raw: Buffer | undefined): void {
    switch (message.type) {
      case 'ssl-request':
        if (this.ctx.startClientTls === undefined) {
          throw new ProtocolError('mysql', 'client: SSLRequest although TLS was not offered');
        }
        // Not forwarded: TLS ends here, the gateway→server leg stays plain.
        this.tlsStarting = true;
        this.shiftAuth = true;
        this.client.halt();
        return;
      case 'handshake-response':
        return this.onHandshakeResponse(message, raw);
      case 'auth-data':
        if (raw !== undefined) {
          if (this.shiftAuth) shiftSequenceIds(raw, -1);
          this.toServer.addBuffer(raw);
        }
        return;
      case 'query':
        return this.act(message.seq, raw, queryActions(message.text), 'text-result');
      case 'init-db': {
        const query: QueryFacts = {
          operation: 'USE',
          text: `COM_INIT_DB ${message.database}`,
          sqlClass: 'other',
          tables: [],
        };
        return this.act(message.seq, raw, [{ query, useDatabase: message.database }], 'simple');
      }
      case 'stmt-prepare':
        this.statements.preparing(message.text);
        return this.forward(raw, 'prepare', { kind: 'prepare', text: message.text });
      case 'stmt-execute':
      case 'stmt-bulk-execute':
        return this.onExecute(message, raw);
      case 'stmt-close':
        this.statements.close(message.statementId);
        return this.forward(raw, undefined, undefined);
      case 'stmt-reset':
        this.statements.reset();
        return this.forward(raw, 'simple', { kind: 'silent' });
      case 'stmt-fetch':
        return this.act(message.seq, raw, [{ query: this.statements.fetch(message) }], 'fetch');
      case 'change-user':
        if (this.ctx.gatewayAuth !== undefined)
          return this.refuseChangeUser(message.seq, message.user);
        this.statements.clear();
        return this.forward(raw, 'auth', {
          kind: 'login',
          changeUser: true,
          user: message.user,
          ...(message.database !== undefined ? { database: message.database } : {}),
        });
      case 'field-list': {
        const query: QueryFacts = {
          operation: 'SHOW COLUMNS',
          text: `COM_FIELD_LIST ${message.table}`,
          sqlClass: 'read',
          tables: [message.table],
        };
        return this.act(message.seq, raw, [{ query }], 'field-list');
      }
      case 'create-db':
      case 'drop-db': {
        const verb = message.type === 'create-db' ? 'CREATE' : 'DROP';
        const text = `COM_${verb}_DB ${message.database}`;
        return this.act(
          message.seq,
          raw,
          [{ query: { operation: `${verb} DATABASE`, text, sqlClass: 'ddl', tables: [] } }],
          'simple',
        );
      }
      case 'process-kill': {
        const query: QueryFacts = {
          operation: 'KILL',
          text: `COM_PROCESS_KILL ${message.processId}`,
          sqlClass: 'unknown',
          tables: [],
        };
        return this.act(message.seq, raw, [{ query }], 'simple');
      }
      case 'command':
        return this.onOtherCommand(message.seq, message.command, raw);
      case 'streamed':
        if (
          message.command === Command.StmtSendLongData &&
          this.client.currentPhase() === 'command'
        )
          this.statements.longData();
        return;
      case 'infile-end':
        if (raw !== undefined) this.toServer.addBuffer(raw);
        return;
      default: {
        const never: never = message;
        throw new ProtocolError('mysql', `client: unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  private onHandshakeResponse(
    message: Extract<ClientMessage, { type: 'handshake-response' }>,
    raw: Buffer | undefined,
  ): void {
    if (!this.greeted)
      throw new ProtocolError('mysql', 'client: HandshakeResponse before the server greeting');
    if (raw !== undefined) {
      const unoffered = (STRIPPED_CAPABILITIES | Capability.Ssl) & message.capabilities;
      if (unoffered !== 0) clearResponseCapabilities(raw, unoffered);
      if (this.shiftAuth) shiftSequenceIds(raw, -1);
    }
    const attributes = message.attributes;
    const application = attributes['program_name'] ?? attributes['_client_name'];
    this.login = clientLogin(message);
    this.identity = {
      user: message.user,
      ...(message.database !== undefined ? { namespace: message.database } : {}),
    };
    this.ctx.setIdentity({
      user: message.user,
      ...(message.database !== undefined ? { database: message.database } : {}),
      ...(application !== undefined ? { application } : {}),
    });
    const both = this.serverCapabilities & message.capabilities;
    const mariadb = this.serverMariadbCapabilities & message.mariadbCapabilities;
    this.server.setNegotiated({
      deprecateEof: (both & Capability.DeprecateEof) !== 0,
      cacheMetadata: (mariadb & MariadbCapability.CacheMetadata) !== 0,
    });
    this.forward(raw, 'auth', {
      kind: 'login',
      changeUser: false,
      user: message.user,
      ...(message.database !== undefined ? { database: message.database } : {}),
    });
  }

  private onExecute(
    message: Extract<ClientMessage, { type: 'stmt-execute' | 'stmt-bulk-execute' }>,
    raw: Buffer | undefined,
  ): void {
    const { query, statement } = this.statements.execute(message, this.ctx.options.recordValues);
    const [queryId] = this.decideAndForward(message.seq, raw, [{ query }], 'binary-result');
    this.statements.executed(message, statement, queryId);
  }

  private onOtherCommand(seq: number, command: number, raw: Buffer | undefined): void {
    if (command === Command.ResetConnection) this.statements.clear();
    const plan = planCommand(command);
    if (plan.kind === 'forward-only') return this.forward(raw, undefined, undefined);
    if (plan.kind === 'housekeeping') return this.forward(raw, plan.expect, { kind: 'silent' });
    this.act(seq, raw, [plan.spec], plan.expect);
  }

  /** Forward a packet; queue its expected response and what the session owes for it. */
  private forward(
    raw: Buffer | undefined,
    expect: ExpectedResponse | undefined,
    entry: Pending | undefined,
  ): void {
    if (expect !== undefined && entry !== undefined) {
      this.replies.push(entry);
      this.server.expect(expect);
    }
    if (raw !== undefined) this.toServer.addBuffer(raw);
  }

  /**
   * Asks policy about each action of one command packet and records it, then forwards the
   * packet — or, if any action is denied, drops it and answers ERR 1142 in its place (a
   * packet is forwarded whole or not at all).
   */
  private act(
    seq: number,
    raw: Buffer | undefined,
    specs: readonly ActionSpec[],
    expect: ExpectedResponse,
  ): void {
    this.decideAndForward(seq, raw, specs, expect);
  }

  /** `act`, returning the `db-query` record ids. */
  private decideAndForward(
    seq: number,
    raw: Buffer | undefined,
    specs: readonly ActionSpec[],
    expect: ExpectedResponse,
  ): string[] {
    const decisions = specs.map((spec) => this.ctx.decide(actionFacts(spec.query)));
    const deniedAt = decisions.findIndex((d) => d.verdict === 'deny');
    const denying: Decision | undefined = decisions[deniedAt];
    const startedAt = this.ctx.now();
    const tracked = specs.map((spec, i) => {
      const decision = decisions[i] ?? { verdict: 'deny' as const, reason: 'no decision' };
      const reason =
        denying === undefined || i === deniedAt
          ? decision.reason
          : `not run: statement ${deniedAt + 1} of the same query was denied (${denying.reason})`;
      const queryId = this.ctx.record(
        queryRecord(this.identity, spec.query, decision, denying !== undefined, reason),
      );
      return track(queryId, spec.query.operation, startedAt, spec.useDatabase);
    });
    const ids = tracked.map((t) => t.queryId);
    if (denying === undefined) {
      this.forward(raw, expect, { kind: 'actions', actions: tracked, index: 0 });
      return ids;
    }
    const answer = deniedAnswer(denying, specs[deniedAt]?.query.operation || 'statement');
    for (const t of tracked) this.replies.finish(t, { outcome: 'failure', ...answer });
    this.replies.sendOwn(answerPacket(seq, answer));
    return ids;
  }

  // ── server → client ──────────────────────────────────────────────────────────────────

  private onServerMessage(message: ServerMessage, raw: Buffer | undefined): void {
    const head = this.replies.head();
    if (raw !== undefined) {
      if (message.type === 'handshake') this.onGreeting(message, raw);
      else if (this.shiftAuth && head?.kind === 'login') shiftSequenceIds(raw, 1);
      this.toClient.addBuffer(raw);
    }
    switch (message.type) {
      case 'handshake':
      case 'auth-switch':
      case 'auth-more-data':
      case 'progress':
      case 'statistics':
        return;
      case 'local-infile':
        this.client.setPhase('infile');
        return;
      case 'ok':
        if (head?.kind === 'login') return this.onLoginResult(head, message);
        return this.replies.result(message.status, (t) => addOk(t, message));
      case 'result-set':
        return this.replies.result(message.status, (t) =>
          addRows(t, message.rows, message.warnings, message.cursorOpened),
        );
      case 'field-list':
        return this.replies.result(0, (t) => addRows(t, message.columns, 0));
      case 'prepare-ok':
        if (head?.kind === 'prepare')
          this.statements.prepared(message.statementId, head.text, message.paramCount);
        return;
      case 'error':
        if (!this.greeted) {
          // The server refused the connection before any handshake (too many connections, host blocked).
          this.ctx.record(
            loginRecord(this.identity, {
              ...loginFacts(this.login, false),
              ...errorFacts(message),
            }),
          );
          return;
        }
        if (head?.kind === 'login') return this.onLoginResult(head, message);
        return this.replies.result(0, (t) => addError(t, message));
      case 'response-end':
        return this.replies.responseEnd();
      default: {
        const never: never = message;
        throw new ProtocolError('mysql', `server: unhandled message ${JSON.stringify(never)}`);
      }
    }
  }

  private onGreeting(greeting: Extract<ServerMessage, { type: 'handshake' }>, raw: Buffer): void {
    // One of the few places bytes are changed in flight: see serializer.ts.
    this.serverCapabilities = editGreetingCapabilities(
      raw,
      greeting.lowerCapabilityOffset,
      greeting.upperCapabilityOffset,
      greeting.capabilities,
      this.ctx.startClientTls !== undefined,
    );
    this.serverMariadbCapabilities = greeting.mariadbCapabilities;
    this.greeted = true;
    this.ctx.annotate({
      mysql: { connection_id: greeting.connectionId, server_version: greeting.serverVersion },
    });
  }

  private onLoginResult(
    head: Extract<Pending, { kind: 'login' }>,
    message: Extract<ServerMessage, { type: 'ok' | 'error' }>,
  ): void {
    this.shiftAuth = false;
    this.client.setPhase('command');
    if (message.type === 'ok') {
      if (head.changeUser) {
        this.identity = {
          user: head.user,
          ...(head.database !== undefined ? { namespace: head.database } : {}),
        };
        this.ctx.setIdentity({
          user: head.user,
          ...(head.database !== undefined ? { database: head.database } : {}),
        });
      }
      this.ctx.record(
        loginRecord(this.identity, {
          ...loginFacts(this.login, head.changeUser),
          outcome: 'success',
        }),
      );
      this.ctx.startupDone?.();
      return;
    }
    const identity: DbIdentity = {
      user: head.user,
      ...(head.database !== undefined ? { namespace: head.database } : {}),
    };
    this.ctx.record(
      loginRecord(identity, { ...loginFacts(this.login, head.changeUser), ...errorFacts(message) }),
    );
  }

  // ── shared ───────────────────────────────────────────────────────────────────────────

  private beginTls(leftover: Buffer): void {
    this.tlsStarting = false;
    const start = this.ctx.startClientTls;
    if (start === undefined) return;
    // The client sends its ClientHello right after the SSLRequest; bytes already read
    // are handed back to the TLS layer.
    start(leftover);
  }

  /**
   * Behind `auth: gateway` the client signed in as a portwarden identity; COM_CHANGE_USER
   * would log in to the target with an account and password of its own. Refused (ERR 1045,
   * not forwarded, recorded), and the connection closed.
   */
  private refuseChangeUser(seq: number, user: string): void {
    this.ctx.record(changeUserRefusedRecord(user, this.identity));
    this.closed = true;
    this.ctx.toClient(changeUserRefusedPacket(seq));
    this.ctx.close('policy', CHANGE_USER_REFUSED);
  }

  /** A protocol violation: answer ERR 1047 (08S01) natively, then close. */
  private fail(err: unknown, seq: number): void {
    if (!(err instanceof ProtocolError)) throw err;
    this.closed = true;
    this.ctx.toClient(protocolErrorPacket(seq, err.detail));
    this.ctx.close('protocol-error', err.detail);
  }
}

/** The MySQL/MariaDB protocol session (one per connection). */
export const createMysqlSession: SessionFactory = (ctx) => new MysqlSession(ctx);
