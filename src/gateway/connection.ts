/**
 * One client connection through the gateway: accept checks (limits, PROXY header, policy,
 * store health), the upstream connect, the two-leg tuple, the relay and half-close, and the
 * open/close records. Protocol knowledge lives in the session; this file only runs the
 * connection's lifecycle and keeps its record.
 */
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { CloseReason, JsonObject } from '../audit/event.js';
import type { RecordContext } from '../audit/recorder.js';
import { uuidv7 } from '../audit/ids.js';
import { errorMessage } from '../errors.js';
import type { ActionFacts, ConnectionFacts, Decision } from '../policy/action.js';
import type {
  ConnectionRefusalFactory,
  ProtocolSession,
  SessionContext,
  SessionIdentity,
} from '../protocols/session.js';
import { ConnectionIdentity, upstreamCredentials } from '../identity/index.js';
import { encodeProxyV2 } from './proxy-protocol.js';
import type { ListenerRuntime } from './listener-runtime.js';
import { normalizeIp } from './ip.js';
import { Deadlines, STARTUP_PROTOCOLS } from './deadlines.js';
import { buildTupleContext, mergeFields } from './tuple-context.js';
import { refuseNatively } from './native-refusal.js';
import { looksLikeProxyHeader, readProxyHeader } from './proxy-intake.js';
import { startClientTls } from './client-tls.js';
import { connectUpstream } from './upstream-connect.js';
import { Relay } from './relay.js';
import { closedEvent, gates, openedEvent, refusedEvent } from './connection-records.js';
import { connectionFacts, contextWithIdentity } from './connection-facts.js';

/** The longest a natively refused connection is talked to (native-refusal.ts). */
const NATIVE_REFUSAL_MS = 10_000;

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
  /** Both legs and the bytes between them (relay.ts). */
  private readonly relay: Relay;
  private session: ProtocolSession | null = null;
  private phase: Phase = 'accepting';
  private forwarded: { ip: string; port: number } | null = null;
  private ctx: RecordContext | null = null;
  private extraFields: JsonObject = {};
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
    this.relay = new Relay(socket, {
      open: () => this.phase === 'open',
      mustHold: () => this.rt.recorder.mustWait() && !this.rt.passesWithoutCommit(this.gatingSeq),
      afterCommit: (fn) => this.rt.recorder.afterCommit(fn),
      clientClosed: () => this.clientClosed,
    });
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
      readProxyHeader(this.raw, {
        header: (h, rest) => {
          if (h.source) {
            this.forwarded = { ip: this.peerIp, port: this.peerPort };
            (this as { sourceIp: string }).sourceIp = normalizeIp(h.source.ip);
            (this as { sourcePort: number }).sourcePort = h.source.port;
          }
          if (rest.length > 0) this.early.push(rest);
          this.proxyChecked = true;
          this.afterSource();
        },
        failed: (detail) => this.refuse('proxy-header', detail),
      });
      return;
    }
    this.afterSource();
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
    this.relay.upstream = connectUpstream(this.rt.config, {
      ready: (socket, raw) => {
        if (socket !== raw) this.upstreamTls = true;
        this.relay.upstream = socket;
        this.onUpstreamConnected(decision, raw);
      },
      failed: (detail) => this.refuse('upstream-unreachable', detail),
      error: (err) => {
        if (this.phase === 'connecting') this.refuse('upstream-unreachable', errorMessage(err));
        else this.onSocketError('server', err);
      },
      secureError: (err) => this.onSocketError('server', err),
      closed: () => {
        this.upstreamClosed = true;
        this.maybeFinish();
      },
    });
    this.upstreamClosed = false;
  }

  /** `raw` is the TCP socket under the upstream (the same socket unless TLS was negotiated). */
  private onUpstreamConnected(decision: Decision, raw: net.Socket): void {
    const up = this.relay.upstream;
    if (this.phase === 'closed' || !up) return;
    this.phase = 'open';
    this.deadlines.opened(Date.now());
    this.upstreamLocalIp = normalizeIp(raw.localAddress ?? '');
    this.upstreamLocalPort = raw.localPort ?? 0;
    if (this.upstreamTls)
      this.extraFields = mergeFields(this.extraFields, { upstream_tls: { established: true } });
    this.ctx = this.buildContext(decision);
    this.gatingSeq = this.rt.recorder.append(
      openedEvent(decision),
      this.ctx,
      this.extraFields,
    ).sequence;
    if (this.rt.config.proxy_protocol_out) {
      this.relay.writeUpstream(
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
      if (!this.clientClosed) this.relay.client.end();
    });
    this.attachClient(this.relay.client);
    for (const chunk of this.early) this.onClientChunk(chunk);
    this.early = [];
    if (!this.relay.holdsBytes) this.relay.client.resume();
  }

  private attachClient(stream: Duplex): void {
    stream.on('data', (chunk: Buffer) => this.onClientChunk(chunk));
    stream.on('end', () => {
      this.relay.clientEnded = true;
      this.firstEnder ??= 'client';
      this.relay.endUpstreamWhenFlushed();
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
      toUpstream: (bytes) => this.relay.toUpstream(bytes),
      toClient: (bytes) => this.relay.toClient(bytes),
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
    const context = this.rt.tlsContext;
    if (!context) return;
    const secure = startClientTls(this.raw, leftover, context, this.rt.config.tls, {
      error: (err) => this.onSocketError('client', err),
      presented: (clientTls) => this.signedIn?.noteClientTls(clientTls),
      refused: (detail) => this.closeWith('policy', detail),
      established: (fields, tlsSubject) => {
        if (tlsSubject !== undefined) this.setIdentity({ tlsSubject });
        this.extraFields = mergeFields(this.extraFields, fields);
      },
    });
    this.relay.client = secure;
    this.attachClient(secure);
  }

  private setIdentity(identity: SessionIdentity): void {
    this.identity = { ...this.identity, ...identity };
    if (!this.ctx) return;
    this.ctx = contextWithIdentity(this.ctx, this.identity, this.signedIn);
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
    return connectionFacts(
      this.rt.config.name,
      { ip: this.sourceIp, port: this.sourcePort },
      this.identity,
      this.processFacts,
    );
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
      this.relay.clientEnded = true;
      this.firstEnder ??= 'client';
      this.relay.endUpstreamWhenFlushed();
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
    const relay = this.relay;
    relay.client.end();
    relay.upstream?.end();
    setTimeout(() => {
      relay.client.destroy();
      relay.upstream?.destroy();
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
      const up = this.relay.upstream;
      if (this.clientClosed && up && !up.destroyed && this.upstreamEnded) up.destroy();
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
      closedEvent(
        reason,
        detail,
        this.startedNs,
        { ip: this.sourceIp, port: this.sourcePort, bytes: this.bytesFromClient },
        { ip: this.destinationIp, port: this.destinationPort, bytes: this.bytesFromServer },
      ),
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
      refusedEvent(reason, detail, this.startedNs, decision),
      ctx,
      this.extraFields,
    );
    this.relay.upstream?.destroy();
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
        ip: normalizeIp(this.relay.upstream?.remoteAddress ?? cfg.target.host),
        port: this.relay.upstream?.remotePort ?? cfg.target.port,
      },
      forwarded: this.forwarded,
      policyVersion: decision?.policyVersion ?? this.rt.policyVersion,
      user: this.identity.user ?? null,
    });
  }
}
