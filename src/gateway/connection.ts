/**
 * One client connection through the gateway: accept checks (limits, PROXY header, policy,
 * store health), the upstream connect, the two-leg tuple, the relay with backpressure and
 * half-close, and the open/close records. Protocol knowledge lives in the session; this file
 * only moves bytes and keeps the record of the connection.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { CloseReason, EventInput, JsonObject } from '../audit/event.js';
import type { RecordContext } from '../audit/recorder.js';
import { uuidv7 } from '../audit/ids.js';
import { errorMessage, PortwardenError } from '../errors.js';
import type { ActionFacts, ConnectionFacts, Decision } from '../policy/action.js';
import type {
  ConnectionRefusalFactory,
  ProtocolSession,
  SessionContext,
  SessionIdentity,
} from '../protocols/session.js';
import { ConnectionIdentity, clientTlsOf, upstreamCredentials } from '../identity/index.js';
import { ProxyHeaderReader, encodeProxyV2 } from './proxy-protocol.js';
import type { ListenerRuntime } from './listener-runtime.js';
import { normalizeIp } from './ip.js';
import { Deadlines, STARTUP_PROTOCOLS } from './deadlines.js';
import { buildTupleContext, mergeFields, tupleEndpoint } from './tuple-context.js';
import { negotiatePostgresTls } from './upstream-tls.js';
import { refuseNatively } from './native-refusal.js';

const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51]);
const PROXY_HEADER_TIMEOUT_MS = 5000;
/** The longest a natively refused connection is talked to (native-refusal.ts). */
const NATIVE_REFUSAL_MS = 10_000;
/** Outcome records: they report what already passed and let nothing through. */
const OUTCOME_ACTIONS: ReadonlySet<string> = new Set([
  'db-result',
  'redis-reply',
  'http-response',
  'connection-close',
]);

type Phase = 'accepting' | 'connecting' | 'open' | 'closed';

export class GatewayConnection {
  readonly id = `c-${uuidv7()}`;
  readonly sourceIp: string;
  readonly sourcePort: number;
  readonly peerIp: string;
  readonly peerPort: number;
  readonly destinationIp: string;
  readonly destinationPort: number;
  readonly startedNs: bigint;
  readonly startedAt = new Date();
  upstreamLocalIp: string | null = null;
  upstreamLocalPort: number | null = null;
  bytesFromClient = 0;
  bytesFromServer = 0;
  /**
   * Start-up, request-head and progress deadlines. The relay path only counts bytes; the
   * sweep turns the counts into progress, so no chunk reads the clock.
   */
  private readonly deadlines: Deadlines;
  identity: SessionIdentity = {};
  /** Who signed in to the gateway (listener `auth: gateway`) and their grants. */
  readonly signedIn: ConnectionIdentity | null;

  private readonly rt: ListenerRuntime;
  private readonly raw: net.Socket;
  private client: Duplex;
  private upstream: net.Socket | null = null;
  private session: ProtocolSession | null = null;
  private phase: Phase = 'accepting';
  private forwarded: { ip: string; port: number } | null = null;
  private ctx: RecordContext | null = null;
  private extraFields: JsonObject = {};
  private held: Buffer[] = [];
  private holding = false;
  private upstreamCongested = false;
  private clientCongested = false;
  private clientEnded = false;
  private upstreamEnded = false;
  private firstEnder: 'client' | 'server' | null = null;
  private closeReason: CloseReason | null = null;
  private closeDetail: string | undefined;
  private early: Buffer[] = [];
  private clientClosed = false;
  private upstreamClosed = true;
  private proxyChecked = false;
  private upstreamTls = false;
  private processFacts: { process?: ConnectionFacts['process'] } | undefined;
  /**
   * Sequence of this connection's last record that lets bytes through (an allowed action,
   * the connection-open, a login…); outcomes and denials gate nothing. While actions are
   * refused for the store, other bytes pass once this one is committed (store-gate.ts).
   */
  private gatingSeq = -1;

  constructor(rt: ListenerRuntime, socket: net.Socket) {
    this.rt = rt;
    this.raw = socket;
    this.client = socket;
    this.peerIp = normalizeIp(socket.remoteAddress ?? '');
    this.peerPort = socket.remotePort ?? 0;
    this.sourceIp = this.peerIp;
    this.sourcePort = this.peerPort;
    this.destinationIp = normalizeIp(socket.localAddress ?? '');
    this.destinationPort = socket.localPort ?? 0;
    this.startedNs = process.hrtime.bigint();
    this.deadlines = new Deadlines(Date.now(), STARTUP_PROTOCOLS.has(rt.config.protocol));
    this.signedIn = rt.identity
      ? new ConnectionIdentity(rt.identity, rt.config.name, rt.config.on_grant_expiry)
      : null;
  }

  /** Accept checks, then PROXY header (from trusted peers) or straight to the upstream. */
  start(): void {
    const sock = this.raw;
    sock.on('error', (err) => this.onSocketError('client', err));
    sock.on('close', () => this.onClientClose());
    const limit = this.rt.checkLimits(this);
    if (limit !== null) return this.refuse('limit', limit);
    if (this.rt.trustedProxies?.check(this.peerIp, net.isIPv6(this.peerIp) ? 'ipv6' : 'ipv4')) {
      this.readProxyHeader();
      return;
    }
    this.afterSource();
  }

  private readProxyHeader(): void {
    const reader = new ProxyHeaderReader();
    const timer = setTimeout(
      () => this.refuse('proxy-header', 'no PROXY header within 5 s'),
      PROXY_HEADER_TIMEOUT_MS,
    );
    const onData = (chunk: Buffer): void => {
      try {
        const result = reader.push(chunk);
        if (result.state === 'need-more') return;
        clearTimeout(timer);
        this.raw.off('data', onData);
        this.raw.pause();
        const h = result.header;
        if (h.source) {
          this.forwarded = { ip: this.peerIp, port: this.peerPort };
          (this as { sourceIp: string }).sourceIp = normalizeIp(h.source.ip);
          (this as { sourcePort: number }).sourcePort = h.source.port;
        }
        if (result.rest.length > 0) this.early.push(result.rest);
        this.proxyChecked = true;
        this.afterSource();
      } catch (err) {
        clearTimeout(timer);
        this.raw.off('data', onData);
        this.refuse('proxy-header', errorMessage(err));
      }
    };
    this.raw.on('data', onData);
    this.raw.resume();
  }

  private afterSource(): void {
    if (this.phase === 'closed') return;
    if (this.processFacts === undefined && this.rt.needsProcess) {
      void this.lookupProcess().then(() => this.afterSource());
      return;
    }
    const decision = this.rt.decideConnection(this.facts(), this.startedAt);
    if (decision.verdict === 'deny') return this.refuse('policy', decision.reason, decision);
    if (this.rt.refuseForStore()) {
      const detail = this.rt.recorder.lastStoreError || 'too many records waiting for the store';
      return this.refuse('store-unavailable', detail, undefined, this.rt.storeRefusal());
    }
    this.connectUpstream(decision);
  }

  /**
   * Policy has `process` conditions: find the client's process (~20 ms through /proc) before
   * deciding, once per connection. Not found, or a PROXY-declared client: null, which never
   * satisfies an allow.
   */
  private async lookupProcess(): Promise<void> {
    const process =
      this.forwarded === null
        ? await this.rt.lookupProcess(
            { ip: this.peerIp, port: this.peerPort },
            { ip: this.destinationIp, port: this.destinationPort },
          )
        : null;
    this.processFacts = { process };
    if (process)
      this.extraFields = mergeFields(this.extraFields, {
        process: { pid: process.pid, executable: process.exe, user: { id: process.uid } },
      });
    if (this.clientClosed && this.phase !== 'closed') this.refuse('client-close', 'client left');
  }

  private connectUpstream(decision: Decision): void {
    this.phase = 'connecting';
    const target = this.rt.config.target;
    const up = net.connect({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      noDelay: true,
    });
    this.upstream = up;
    this.upstreamClosed = false;
    const timer = setTimeout(() => {
      up.destroy(
        new PortwardenError('PW_ERR_UPSTREAM_TIMEOUT', {
          target: `${target.host}:${target.port}`,
          ms: this.rt.config.connect_timeout,
        }),
      );
    }, this.rt.config.connect_timeout);
    up.once('connect', () => {
      clearTimeout(timer);
      if (this.rt.config.protocol !== 'postgres' || this.rt.config.upstream_tls === 'disable') {
        this.onUpstreamConnected(decision);
        return;
      }
      negotiatePostgresTls(up, {
        mode: this.rt.config.upstream_tls,
        servername: target.host,
        timeoutMs: this.rt.config.connect_timeout,
        ...(this.rt.config.upstream_ca ? { caFile: this.rt.config.upstream_ca } : {}),
      }).then(
        (secure) => {
          if (secure !== up) {
            secure.on('error', (err) => this.onSocketError('server', err));
            this.upstreamTls = true;
          }
          this.upstream = secure;
          this.onUpstreamConnected(decision, up);
        },
        (err: unknown) => {
          up.destroy();
          this.refuse('upstream-unreachable', errorMessage(err));
        },
      );
    });
    up.on('error', (err) => {
      clearTimeout(timer);
      if (this.phase === 'connecting') this.refuse('upstream-unreachable', errorMessage(err));
      else this.onSocketError('server', err);
    });
    up.on('close', () => {
      this.upstreamClosed = true;
      this.maybeFinish();
    });
  }

  /** `raw` is the TCP socket when `this.upstream` is a TLS socket wrapped around it. */
  private onUpstreamConnected(decision: Decision, raw?: net.Socket): void {
    if (this.phase === 'closed' || !this.upstream) return;
    const up = this.upstream;
    this.phase = 'open';
    this.deadlines.opened(Date.now());
    this.upstreamLocalIp = normalizeIp((raw ?? up).localAddress ?? '');
    this.upstreamLocalPort = (raw ?? up).localPort ?? 0;
    if (this.upstreamTls)
      this.extraFields = mergeFields(this.extraFields, { upstream_tls: { established: true } });
    this.ctx = this.buildContext(decision);
    const openEvent: EventInput = {
      event: {
        action: 'connection-open',
        category: ['network'],
        type: ['connection', 'start', 'allowed'],
        outcome: 'success',
        ...(decision.verdict === 'alert' ? { reason: decision.reason } : {}),
      },
      ...ruleFields(decision),
    };
    this.gatingSeq = this.rt.recorder.append(openEvent, this.ctx, this.extraFields).sequence;
    if (this.rt.config.proxy_protocol_out) {
      this.writeUpstream(
        encodeProxyV2({
          source: { ip: this.sourceIp, port: this.sourcePort },
          destination: { ip: this.destinationIp, port: this.destinationPort },
          uniqueId: this.id,
        }),
      );
    }
    this.session = this.rt.sessionFactory(this.sessionContext());
    up.on('data', (chunk: Buffer) => {
      this.bytesFromServer += chunk.length;
      this.session?.onServerData(chunk);
    });
    up.on('end', () => {
      this.upstreamEnded = true;
      this.firstEnder ??= 'server';
      if (!this.clientClosed) this.client.end();
    });
    this.attachClient(this.client);
    for (const chunk of this.early) this.onClientChunk(chunk);
    this.early = [];
    if (this.held.length === 0) this.client.resume();
  }

  private attachClient(stream: Duplex): void {
    stream.on('data', (chunk: Buffer) => this.onClientChunk(chunk));
    stream.on('end', () => {
      this.clientEnded = true;
      this.firstEnder ??= 'client';
      this.endUpstreamWhenFlushed();
    });
  }

  private onClientChunk(chunk: Buffer): void {
    this.bytesFromClient += chunk.length;
    if (!this.proxyChecked) {
      this.proxyChecked = true;
      // A PROXY header from a peer outside trusted_proxies is an attempt to spoof the source.
      if (this.rt.trustedProxies && looksLikeProxyHeader(chunk)) {
        this.closeWith('proxy-header', `PROXY header from untrusted peer ${this.peerIp}`);
        return;
      }
    }
    try {
      this.session?.onClientData(chunk);
    } catch (err) {
      this.rt.log.error(
        { err: errorMessage(err), connection: this.id },
        'session failed on client data',
      );
      this.closeWith('protocol-error', errorMessage(err));
    }
  }

  private sessionContext(): SessionContext {
    // Arrow functions keep `this` bound to the connection.
    const ctx: SessionContext = {
      connectionId: this.id,
      options: this.rt.sessionOptions,
      record: (input) => {
        if (!this.ctx) throw new Error('record before open');
        const ref = this.rt.recorder.append(input, this.ctx, this.extraFields);
        if (gates(input)) this.gatingSeq = ref.sequence;
        return ref.id;
      },
      toUpstream: (bytes) => this.toUpstream(bytes),
      toClient: (bytes) => this.toClient(bytes),
      facts: () => this.signedIn?.facts(this.facts()) ?? this.facts(),
      setIdentity: (identity) => this.setIdentity(identity),
      annotate: (fields) => {
        this.extraFields = mergeFields(this.extraFields, fields);
      },
      decide: (action: ActionFacts) => this.decideAction(action),
      close: (reason, detail) => this.closeWith(reason, detail),
      now: () => process.hrtime.bigint(),
      startupDone: () => this.deadlines.startupDone(),
      readingHead: (partial) => this.deadlines.readingHead(partial, Date.now()),
    };
    const signedIn = this.signedIn;
    if (signedIn && this.rt.config.auth === 'gateway') {
      const gatewayAuth = signedIn.gatewayAuth({
        signedIn: () => this.setIdentity({}),
        upstreamCredentials: () => upstreamCredentials(this.rt.config),
      });
      return this.rt.tlsContext
        ? {
            ...ctx,
            gatewayAuth,
            startClientTls: (leftover?: Buffer) => this.startClientTls(leftover),
          }
        : { ...ctx, gatewayAuth };
    }
    if (this.rt.tlsContext) {
      return { ...ctx, startClientTls: (leftover?: Buffer) => this.startClientTls(leftover) };
    }
    return ctx;
  }

  private startClientTls(leftover?: Buffer): void {
    const ctx = this.rt.tlsContext;
    if (!ctx) return;
    this.raw.removeAllListeners('data');
    this.raw.removeAllListeners('end');
    // Paused, so that bytes given back below stay buffered for the TLS socket to read.
    this.raw.pause();
    // Bytes read past the TLS request belong to the handshake: give them back to the stream.
    if (leftover && leftover.length > 0) this.raw.unshift(leftover);
    const secure = new tls.TLSSocket(this.raw, {
      isServer: true,
      secureContext: ctx,
      requestCert: this.rt.config.tls?.client_auth !== 'none',
      rejectUnauthorized: this.rt.config.tls?.client_auth === 'require',
    });
    secure.on('error', (err: Error) => this.onSocketError('client', err));
    secure.on('secure', () => {
      const clientTls = clientTlsOf(secure, this.rt.config.tls?.ca !== undefined);
      this.signedIn?.noteClientTls(clientTls);
      // A bare TLSSocket (no tls.Server) never enforces rejectUnauthorized itself.
      if (this.rt.config.tls?.client_auth === 'require' && clientTls.peer?.trusted !== true) {
        const problem = clientTls.peer?.problem ?? 'no client certificate';
        this.closeWith('policy', `client certificate required: ${problem}`);
        return;
      }
      const peer = secure.getPeerCertificate();
      const tlsFields: JsonObject = {
        tls: {
          established: true,
          version: secure.getProtocol() ?? 'unknown',
          cipher: secure.getCipher().name,
        },
      };
      if (
        peer &&
        typeof peer.subject === 'object' &&
        peer.subject !== null &&
        'CN' in peer.subject
      ) {
        this.setIdentity({ tlsSubject: `CN=${String(peer.subject.CN)}` });
      }
      this.extraFields = mergeFields(this.extraFields, tlsFields);
    });
    this.client = secure;
    this.attachClient(secure);
  }

  private setIdentity(identity: SessionIdentity): void {
    this.identity = { ...this.identity, ...identity };
    if (!this.ctx) return;
    const session: JsonObject = {};
    if (this.identity.database !== undefined) session.database = this.identity.database;
    if (this.identity.application !== undefined) session.application = this.identity.application;
    if (this.identity.tlsSubject !== undefined) session.tls_subject = this.identity.tlsSubject;
    const fields: JsonObject = { ...this.ctx.fields, session };
    // A gateway sign-in names the person; the target-side user stays in the protocol's db.user.
    const signedIn = this.signedIn?.userFields();
    if (signedIn) fields.user = signedIn;
    else if (this.identity.user !== undefined) fields.user = { name: this.identity.user };
    const user = this.signedIn?.principal?.name ?? this.identity.user ?? this.ctx.user;
    this.ctx = { ...this.ctx, fields, user };
  }

  /** Policy for one action, with the signed-in identity and its grants in the facts. */
  private decideAction(action: ActionFacts): Decision {
    const now = new Date();
    const facts = this.signedIn
      ? this.signedIn.facts(this.facts(), action, now.getTime())
      : this.facts();
    if (this.signedIn?.mustCloseForExpiry(now.getTime())) {
      // The session writes its native denial first; then the connection ends.
      setImmediate(() => this.closeWith('policy', 'grant expired'));
      return { verdict: 'deny', reason: 'grant expired' };
    }
    return this.rt.decideAction(facts, action, now);
  }

  /** Facts policy knows about this connection so far. */
  facts(): ConnectionFacts {
    return {
      listener: this.rt.config.name,
      sourceIp: this.sourceIp,
      sourcePort: this.sourcePort,
      ...(this.identity.user !== undefined ? { user: this.identity.user } : {}),
      ...(this.identity.database !== undefined ? { database: this.identity.database } : {}),
      ...(this.identity.application !== undefined
        ? { application: this.identity.application }
        : {}),
      ...(this.identity.tlsSubject !== undefined ? { tlsSubject: this.identity.tlsSubject } : {}),
      ...this.processFacts,
    };
  }

  /**
   * Forward to the target; in strict mode only once every record so far is committed — or,
   * while actions are refused for the store, once this connection's gating records are.
   */
  private toUpstream(bytes: Buffer): void {
    if (this.phase !== 'open') return;
    if (
      this.holding ||
      (this.rt.recorder.mustWait() && !this.rt.passesWithoutCommit(this.gatingSeq))
    ) {
      this.held.push(bytes);
      if (!this.holding) {
        this.holding = true;
        this.client.pause();
        this.rt.recorder.afterCommit(this.releaseHeld);
      }
      return;
    }
    this.writeUpstream(bytes);
  }

  private readonly releaseHeld = (): void => {
    this.holding = false;
    const held = this.held;
    this.held = [];
    for (const b of held) this.writeUpstream(b);
    if (!this.upstreamCongested && this.phase === 'open') this.client.resume();
    if (this.clientEnded) this.endUpstreamWhenFlushed();
  };

  private writeUpstream(bytes: Buffer): void {
    const up = this.upstream;
    if (!up || up.destroyed) return;
    if (!up.write(bytes) && !this.upstreamCongested) {
      this.upstreamCongested = true;
      this.client.pause();
      up.once('drain', () => {
        this.upstreamCongested = false;
        if (!this.holding && this.phase === 'open') this.client.resume();
      });
    }
  }

  private toClient(bytes: Buffer): void {
    const c = this.client;
    if (c.destroyed || this.clientClosed) return;
    if (!c.write(bytes) && !this.clientCongested) {
      this.clientCongested = true;
      this.upstream?.pause();
      c.once('drain', () => {
        this.clientCongested = false;
        this.upstream?.resume();
      });
    }
  }

  private endUpstreamWhenFlushed(): void {
    if (this.holding || !this.upstream || this.upstream.destroyed) return;
    this.upstream.end();
  }

  private onSocketError(side: 'client' | 'server', err: Error): void {
    // Any socket error ends the connection as a reset; the detail keeps the errno code.
    const code = (err as NodeJS.ErrnoException).code;
    this.closeWith('reset', `${side}: ${code ?? errorMessage(err)}`);
  }

  private onClientClose(): void {
    this.clientClosed = true;
    if (this.phase === 'open' && !this.upstreamEnded) {
      // The client went away: let the target see the end once held bytes are out.
      this.clientEnded = true;
      this.firstEnder ??= 'client';
      this.endUpstreamWhenFlushed();
    }
    this.maybeFinish();
  }

  /** End the connection with a reason (idle timeout, shutdown, session decision, error). */
  closeWith(reason: CloseReason, detail?: string): void {
    if (this.phase === 'closed') return;
    if (this.closeReason === null) {
      this.closeReason = reason;
      this.closeDetail = detail;
    }
    if (this.phase !== 'open') {
      this.refuse(reason, detail ?? reason);
      return;
    }
    // Let bytes already written (a native error) reach the client, then close both legs.
    this.client.end();
    this.upstream?.end();
    setTimeout(() => {
      this.client.destroy();
      this.upstream?.destroy();
    }, 1000).unref();
  }

  /** Time since the last progress (docs/operations.md, "Slow clients"), as of the last sweep. */
  idleFor(nowMs: number): number {
    return this.deadlines.idleFor(nowMs);
  }

  /**
   * The gateway's sweep: end the connection when a deadline passed (start-up, request head,
   * or `idle_timeout` without progress). The session may first write its native answer.
   */
  sweep(nowMs: number): void {
    if (this.phase === 'closed' || this.closeReason !== null) return;
    const overdue = this.deadlines.check(
      nowMs,
      this.bytesFromClient,
      this.bytesFromServer,
      this.rt.config,
    );
    if (overdue === null) return;
    if (overdue.reason === 'handshake-timeout' || overdue.reason === 'header-timeout') {
      try {
        this.session?.onDeadline?.(overdue.reason);
      } catch (err) {
        this.rt.log.error(
          { err: errorMessage(err), connection: this.id },
          'session failed on a deadline',
        );
      }
    }
    this.rt.log.info(
      {
        listener: this.rt.config.name,
        connection: this.id,
        source: `${this.sourceIp}:${this.sourcePort}`,
        reason: overdue.reason,
        detail: overdue.detail,
      },
      'connection closed by a deadline',
    );
    this.closeWith(overdue.reason, overdue.detail);
  }

  private maybeFinish(): void {
    if (this.phase !== 'open') return;
    if (!this.clientClosed || !this.upstreamClosed) {
      if (this.clientClosed && this.upstream && !this.upstream.destroyed && this.upstreamEnded)
        this.upstream.destroy();
      return;
    }
    this.phase = 'closed';
    try {
      this.session?.onClose?.();
    } catch (err) {
      this.rt.log.error({ err: errorMessage(err), connection: this.id }, 'session failed on close');
    }
    const reason: CloseReason =
      this.closeReason ?? (this.firstEnder === 'server' ? 'server-close' : 'client-close');
    this.recordClose(reason, this.closeDetail);
    this.rt.forget(this);
  }

  private recordClose(reason: CloseReason, detail: string | undefined): void {
    if (!this.ctx) return;
    this.rt.recorder.append(
      {
        event: {
          action: 'connection-close',
          category: ['network'],
          type: ['connection', 'end'],
          outcome:
            reason === 'client-close' || reason === 'server-close' || reason === 'shutdown'
              ? 'success'
              : 'failure',
          duration: Number(process.hrtime.bigint() - this.startedNs),
          reason,
        },
        ...(detail ? { error: { message: detail } } : {}),
        source: { ...tupleEndpoint(this.sourceIp, this.sourcePort), bytes: this.bytesFromClient },
        destination: {
          ...tupleEndpoint(this.destinationIp, this.destinationPort),
          bytes: this.bytesFromServer,
        },
      },
      this.ctx,
      this.extraFields,
    );
  }

  /**
   * Refuse before the relay started: one connection-open record with outcome failure. With
   * `native`, the client is answered in its protocol (audit store unavailable) before the close.
   */
  private refuse(
    reason: CloseReason,
    detail: string,
    decision?: Decision,
    native?: ConnectionRefusalFactory | null,
  ): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    const ctx = this.buildContext(decision);
    this.rt.recorder.append(
      {
        event: {
          action: 'connection-open',
          category: ['network'],
          type: ['connection', 'denied'],
          outcome: 'failure',
          reason,
          duration: Number(process.hrtime.bigint() - this.startedNs),
        },
        error: { message: detail },
        ...(decision ? ruleFields(decision) : {}),
      },
      ctx,
      this.extraFields,
    );
    this.upstream?.destroy();
    const early = this.early;
    this.early = [];
    if (reason === 'limit') this.raw.resetAndDestroy();
    else if (
      !native ||
      !refuseNatively({
        socket: this.raw,
        early,
        factory: native,
        tlsContext: this.rt.tlsContext,
        deadlineMs: Math.min(this.rt.config.handshake_timeout, NATIVE_REFUSAL_MS),
      })
    )
      this.raw.destroy();
    this.rt.forget(this);
    this.rt.onRefused(reason, this, detail);
  }

  private buildContext(decision?: Decision): RecordContext {
    const cfg = this.rt.config;
    return buildTupleContext({
      listener: cfg.name,
      protocol: cfg.protocol,
      ecsProtocol: this.rt.ecsProtocol,
      connectionId: this.id,
      source: { ip: this.sourceIp, port: this.sourcePort },
      destination: { ip: this.destinationIp, port: this.destinationPort },
      upstreamLocal:
        this.upstreamLocalIp !== null && this.upstreamLocalPort !== null
          ? { ip: this.upstreamLocalIp, port: this.upstreamLocalPort }
          : null,
      upstream: {
        ip: normalizeIp(this.upstream?.remoteAddress ?? cfg.target.host),
        port: this.upstream?.remotePort ?? cfg.target.port,
      },
      forwarded: this.forwarded,
      policyVersion: decision?.policyVersion ?? this.rt.policyVersion,
      user: this.identity.user ?? null,
    });
  }
}

function ruleFields(decision: Decision): JsonObject {
  const out: JsonObject = {};
  if (decision.ruleId) out.rule = { id: decision.ruleId };
  if (decision.policyVersion) out.policy = { version: decision.policyVersion };
  return out;
}

/** Whether a session's record lets bytes through (anything but an outcome or a denial). */
function gates(input: EventInput): boolean {
  return !OUTCOME_ACTIONS.has(input.event.action) && !input.event.type.includes('denied');
}

function looksLikeProxyHeader(chunk: Buffer): boolean {
  if (chunk.length >= 6 && chunk.toString('latin1', 0, 6) === 'PROXY ') return true;
  return chunk.length >= 8 && chunk.subarray(0, 8).equals(PROXY_V2_SIGNATURE);
}
