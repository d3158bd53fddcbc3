/**
 * One HTTP/1.1 connection: every request is recorded (`http-request`) and decided before a
 * byte of it is forwarded; a denied request is answered 403 by us (503 with `Retry-After`
 * when refused because the audit store is unavailable), in its place in the pipeline, and
 * its body is dropped. Each outcome is recorded as `http-response`. After a granted upgrade
 * (101, or 2xx to CONNECT) both directions are relayed untouched.
 */
import type { CloseReason, EventOutcome } from '../../audit/event.js';
import { ProtocolError } from '../../errors.js';
import type { Decision } from '../../policy/action.js';
import { isStoreRefusal } from '../session.js';
import type { ProtocolSession, SessionContext, SessionFactory } from '../session.js';
import { forwardedOptions, rewriteHead } from './forwarded.js';
import { HttpSignInGate, serializeUnauthorized, type SignInVerdict } from './gateway-auth.js';
import type { ForwardedOptions } from './forwarded.js';
import { DEFAULT_HTTP_LIMITS } from './limits.js';
import type { HttpLimits } from './limits.js';
import { HttpProtocolError } from './messages.js';
import type { RequestHead, RequestMessage, ResponseHead, ResponseMessage } from './messages.js';
import { Outbox } from './outbox.js';
import { requestRecord, responseRecord } from './records.js';
import { describeRequest } from './request-facts.js';
import { RequestParser } from './request-parser.js';
import { ResponseParser } from './response-parser.js';
import { serializeDenial, serializeError, serializeStoreRefusal } from './serializer.js';

/** One request and its response, in pipeline order. */
interface Exchange {
  /** `event.id` of the http-request record (absent for a malformed request we answered). */
  readonly requestId?: string;
  readonly method: string;
  readonly startNs: bigint;
  readonly upgrade: boolean;
  readonly denied: boolean;
  /** Bytes we answer with ourselves when this exchange's turn comes. */
  readonly local?: { readonly bytes: Buffer; readonly status: number };
  readonly closeAfter?: { readonly reason: CloseReason; readonly detail?: string };
  requestBodyBytes: number;
  requestDone: boolean;
  status?: number;
  responseBodyBytes: number;
  responseDone: boolean;
  endNs?: bigint;
  problem?: string;
}

function positiveInt(value: unknown, fallback: number): number {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 ? value : fallback;
}

/** Parser bounds from the listener: `extra.max_head_bytes`, `extra.max_headers`. */
export function httpLimits(ctx: SessionContext): HttpLimits {
  const extra = ctx.options.extra;
  return {
    ...DEFAULT_HTTP_LIMITS,
    maxHeadBytes: Math.min(
      positiveInt(extra['max_head_bytes'], DEFAULT_HTTP_LIMITS.maxHeadBytes),
      ctx.options.maxMessageBytes,
    ),
    maxHeaders: positiveInt(extra['max_headers'], DEFAULT_HTTP_LIMITS.maxHeaders),
  };
}

class HttpSession implements ProtocolSession {
  private readonly requests: RequestParser;
  private readonly responses: ResponseParser;
  private readonly upstream: Outbox;
  private readonly downstream: Outbox;
  private readonly forwarded: ForwardedOptions | undefined;
  /** Exchanges waiting for their response, in order (local answers included). */
  private readonly awaiting: Exchange[] = [];
  /** Exchanges whose http-response is not recorded yet. */
  private readonly unrecorded = new Set<Exchange>();
  /** The request whose body is being read. */
  private current: Exchange | undefined;
  /** The response head was forwarded and its body is being relayed. */
  private responseOpen = false;
  private responseUnsolicited = false;
  /** No more client bytes are read (a fatal answer is queued). */
  private clientStopped = false;
  private closing = false;
  private draining = false;
  /** Listener `auth: gateway`: each request's bearer credential is verified first. */
  private readonly gate: HttpSignInGate | undefined;
  /** The first request head arrived (the start-up the gateway times). */
  private started = false;
  /** A request head is partly read (the gateway's header deadline runs). */
  private headPartial = false;

  constructor(private readonly ctx: SessionContext) {
    const limits = httpLimits(ctx);
    this.forwarded = forwardedOptions(ctx.options.extra);
    this.requests = new RequestParser((m) => this.onRequestMessage(m), limits);
    this.responses = new ResponseParser((m) => this.onResponseMessage(m), limits);
    this.upstream = new Outbox((b) => ctx.toUpstream(b));
    this.downstream = new Outbox((b) => ctx.toClient(b));
    this.gate = ctx.gatewayAuth
      ? new HttpSignInGate(
          ctx.gatewayAuth,
          (head, verdict) => this.onSignIn(head, verdict),
          (m) => {
            this.onRequestMessage(m);
            this.flush();
          },
        )
      : undefined;
  }

  onClientData(chunk: Buffer): void {
    if (this.closing || this.clientStopped) return;
    try {
      this.requests.push(chunk);
    } catch (err) {
      this.clientViolation(err);
    }
    this.noteHead();
    this.flush();
  }

  /**
   * A start-up or request-head deadline passed: answer 408 if nothing is owed before it in
   * the pipeline (otherwise no answer of ours could be placed in order); the gateway closes.
   */
  onDeadline(): void {
    if (this.closing) return;
    this.clientStopped = true;
    this.closing = true;
    if (this.awaiting.length === 0 && !this.responseOpen)
      this.downstream.add(serializeError(408, 'request head not received in time'));
    this.flush();
  }

  /** Tell the gateway when a request head starts and stops being partly read. */
  private noteHead(): void {
    const partial = !this.clientStopped && this.requests.readingHead;
    if (partial === this.headPartial) return;
    this.headPartial = partial;
    this.ctx.readingHead?.(partial);
  }

  onServerData(chunk: Buffer): void {
    if (this.closing) return;
    try {
      this.responses.push(chunk);
    } catch (err) {
      this.serverViolation(err);
    }
    this.flush();
  }

  onClose(): void {
    this.responses.finish();
    for (const ex of this.unrecorded) {
      ex.problem ??= ex.responseDone
        ? 'connection closed during the request'
        : 'connection closed before the response';
      ex.endNs ??= this.ctx.now();
      this.record(ex, ex.responseDone ? undefined : 'unknown');
    }
  }

  private flush(): void {
    this.upstream.flush();
    this.downstream.flush();
  }

  private onRequestMessage(m: RequestMessage): void {
    if (this.closing || this.clientStopped) return;
    if (m.type === 'request-head' && !this.started) {
      this.started = true;
      this.ctx.startupDone?.();
    }
    if (this.gate?.offer(m)) return;
    switch (m.type) {
      case 'request-head':
        this.onRequestHead(m.head);
        return;
      case 'body':
        if (this.current !== undefined && !this.current.denied) this.upstream.add(m.bytes);
        return;
      case 'end': {
        const ex = this.current;
        this.current = undefined;
        if (ex === undefined) return;
        ex.requestBodyBytes = m.payloadBytes;
        ex.requestDone = true;
        this.maybeRecord(ex);
        return;
      }
      case 'opaque':
        this.upstream.add(m.bytes);
        return;
    }
  }

  /** A gateway sign-in was checked: forward the rewritten request, or answer 401. */
  private onSignIn(head: RequestHead, verdict: SignInVerdict): void {
    if (this.closing || this.clientStopped) return;
    if (verdict.ok) this.onRequestHead(verdict.head);
    else this.onRequestHead(head, verdict.reason);
    this.flush();
  }

  private onRequestHead(head: RequestHead, unauthorized?: string): void {
    const described = describeRequest(head);
    // Signed in at the gateway, the record's user is the identity, not a claim in the request.
    const facts = this.gate ? { ...described, user: undefined } : described;
    const decision =
      unauthorized === undefined
        ? this.ctx.decide({
            protocol: 'http',
            method: head.method,
            path: facts.path,
            ...(facts.domain === undefined ? {} : { host: facts.domain }),
          })
        : { verdict: 'deny' as const, reason: `sign-in failed: ${unauthorized}` };
    const denied = decision.verdict === 'deny';
    const requestId = this.ctx.record(requestRecord(head, facts, decision));
    // Answering before the body arrives desynchronises a client that waits for 100 Continue.
    const close =
      denied && (!head.keepAlive || (head.expectContinue && head.framing.kind !== 'none'));
    const ex: Exchange = {
      requestId,
      method: head.method,
      startNs: this.ctx.now(),
      upgrade: head.upgrade,
      denied,
      ...(denied
        ? {
            local:
              unauthorized === undefined
                ? localDenial(decision, { close, head: head.method === 'HEAD' })
                : {
                    bytes: serializeUnauthorized(unauthorized, {
                      close,
                      head: head.method === 'HEAD',
                    }),
                    status: 401,
                  },
          }
        : {}),
      ...(close ? { closeAfter: { reason: 'policy' as const } } : {}),
      requestBodyBytes: 0,
      requestDone: false,
      responseBodyBytes: 0,
      responseDone: false,
    };
    this.current = ex;
    this.unrecorded.add(ex);
    this.awaiting.push(ex);
    if (denied) {
      if (close) this.clientStopped = true;
      this.drainLocal();
      return;
    }
    const f = this.forwarded;
    if (f === undefined) this.upstream.add(head.raw);
    else {
      const facts = this.ctx.facts();
      this.upstream.add(
        rewriteHead(head, f, { ip: facts.sourceIp, port: facts.sourcePort }, requestId),
      );
    }
    this.responses.expect(head.method);
  }

  private onResponseMessage(m: ResponseMessage): void {
    if (this.closing) return;
    switch (m.type) {
      case 'response-head':
        this.onResponseHead(m.head, m.unsolicited);
        return;
      case 'body':
      case 'opaque':
        this.downstream.add(m.bytes);
        return;
      case 'end': {
        this.responseOpen = false;
        if (this.responseUnsolicited) return;
        const ex = this.awaiting.shift();
        if (ex === undefined) return;
        ex.responseBodyBytes = m.payloadBytes;
        ex.responseDone = true;
        ex.endNs = this.ctx.now();
        this.maybeRecord(ex);
        if (ex.upgrade) {
          const granted =
            ex.status === 101 ||
            (ex.method === 'CONNECT' && ex.status !== undefined && ex.status < 300);
          this.steerClient(granted ? 'opaque' : 'resume');
        }
        this.drainLocal();
        return;
      }
    }
  }

  private onResponseHead(head: ResponseHead, unsolicited: boolean): void {
    const ex = this.awaiting[0];
    if (!head.interim && !unsolicited && ex !== undefined) {
      if (head.status === 101 && !ex.upgrade)
        throw new HttpProtocolError('101 without an upgrade request');
      ex.status = head.status;
      this.responseOpen = true;
    }
    this.responseUnsolicited = unsolicited;
    this.downstream.add(head.raw);
  }

  /** Write local answers that are now at the front of the pipeline. */
  private drainLocal(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (
        let ex = this.awaiting[0];
        ex?.local !== undefined && !this.closing;
        ex = this.awaiting[0]
      ) {
        this.awaiting.shift();
        this.downstream.add(ex.local.bytes);
        ex.status = ex.local.status;
        ex.responseDone = true;
        ex.endNs = this.ctx.now();
        this.maybeRecord(ex);
        if (ex.closeAfter !== undefined) this.finish(ex.closeAfter.reason, ex.closeAfter.detail);
        else if (ex.upgrade) this.steerClient('resume');
      }
    } finally {
      this.draining = false;
    }
  }

  /** The answer to an upgrade request decides how the client's next bytes are read. */
  private steerClient(next: 'opaque' | 'resume'): void {
    try {
      if (next === 'opaque') this.requests.upgrade();
      else this.requests.resume();
    } catch (err) {
      this.clientViolation(err);
    }
    this.noteHead();
  }

  private maybeRecord(ex: Exchange): void {
    if (ex.responseDone && ex.requestDone) this.record(ex);
  }

  private record(ex: Exchange, outcome?: EventOutcome): void {
    if (!this.unrecorded.delete(ex) || ex.requestId === undefined) return;
    this.ctx.record(
      responseRecord({
        requestId: ex.requestId,
        ...(ex.status === undefined ? {} : { status: ex.status }),
        requestBodyBytes: ex.requestBodyBytes,
        responseBodyBytes: ex.responseBodyBytes,
        durationNs: (ex.endNs ?? this.ctx.now()) - ex.startNs,
        ...(ex.problem === undefined ? {} : { problem: ex.problem }),
        ...(outcome === undefined ? {} : { outcome }),
      }),
    );
  }

  /** Malformed client bytes: answer 4xx/5xx in pipeline order, then close. */
  private clientViolation(err: unknown): void {
    if (!(err instanceof ProtocolError)) throw err;
    this.clientStopped = true;
    const cur = this.current;
    if (cur !== undefined && !cur.denied) {
      // Part of this request already went upstream; no answer of ours can be placed in order.
      cur.problem = err.detail;
      this.finish('protocol-error', err.detail);
      return;
    }
    const status = err instanceof HttpProtocolError ? err.status : 400;
    this.awaiting.push({
      method: '',
      startNs: this.ctx.now(),
      upgrade: false,
      denied: true,
      local: { bytes: serializeError(status, err.detail), status },
      closeAfter: { reason: 'protocol-error', detail: err.detail },
      requestBodyBytes: 0,
      requestDone: true,
      responseBodyBytes: 0,
      responseDone: false,
    });
    this.drainLocal();
  }

  /** Malformed target bytes: 502 if nothing of this response reached the client, then close. */
  private serverViolation(err: unknown): void {
    if (!(err instanceof ProtocolError)) throw err;
    const ex = this.awaiting[0];
    if (ex !== undefined && ex.local === undefined) {
      ex.problem = `target: ${err.detail}`;
      if (!this.responseOpen) {
        ex.status = 502;
        ex.responseDone = true;
        this.downstream.add(serializeError(502, 'invalid response from the target'));
      }
      ex.endNs = this.ctx.now();
      this.record(ex, 'failure');
    }
    this.finish('protocol-error', `target: ${err.detail}`);
  }

  private finish(reason: CloseReason, detail?: string): void {
    if (this.closing) return;
    this.closing = true;
    this.flush();
    this.ctx.close(reason, detail);
  }
}

/** Our answer to a refused request: 403 (policy), or 503 + Retry-After (audit store unavailable). */
function localDenial(
  decision: Decision,
  options: { close: boolean; head: boolean },
): { bytes: Buffer; status: number } {
  if (isStoreRefusal(decision)) return { bytes: serializeStoreRefusal(options), status: 503 };
  return { bytes: serializeDenial(decision, options), status: 403 };
}

/** The HTTP/1.1 protocol session factory. */
export const createHttpSession: SessionFactory = (ctx) => new HttpSession(ctx);
