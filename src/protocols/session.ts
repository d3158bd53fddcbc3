/**
 * The contract between the gateway (which owns sockets, the tuple and the recorder) and a
 * protocol session (which reads the bytes of one connection, turns messages into actions,
 * asks policy, and writes native denials). One session per connection; the gateway calls
 * `onClientData` / `onServerData` with every chunk in order. A session never touches the
 * store and never opens sockets.
 */
import type { CloseReason, EventInput, JsonObject } from '../audit/event.js';
import type { ActionFacts, ConnectionFacts, Decision } from '../policy/action.js';
import type { GatewayAuth } from '../identity/index.js';

/** Per-listener protocol options (from the listener's config). */
export interface SessionOptions {
  readonly listener: string;
  /** Largest single protocol message accepted, in bytes (default 16 MiB). */
  readonly maxMessageBytes: number;
  /** Record bound parameters / Redis values (off by default). */
  readonly recordValues: boolean;
  /** Any protocol-specific settings from the listener config, already validated. */
  readonly extra: Readonly<Record<string, unknown>>;
}

/** Identity revealed by the protocol; merged into every later record of the connection. */
export interface SessionIdentity {
  readonly user?: string;
  readonly database?: string;
  readonly application?: string;
  readonly tlsSubject?: string;
}

/**
 * Listener `auth: gateway`: the session answers the client's sign-in itself and logs in to
 * the target with the gateway's credentials (docs/identity.md); defined by the identity layer.
 */
export type { CertificateSignIn, GatewayAuth } from '../identity/index.js';

export interface SessionContext {
  readonly connectionId: string;
  readonly options: SessionOptions;
  /**
   * Append a record for this connection. The gateway adds the tuple, identity, listener,
   * timestamps and ids; returns the new record's `event.id` (for `event.reference`).
   */
  record(input: EventInput): string;
  /**
   * Forward bytes to the target. In strict mode the gateway holds them until every record
   * made so far on this connection is committed (and pauses the client meanwhile), so a
   * session simply records first, then forwards.
   */
  toUpstream(bytes: Buffer): void;
  /** Send bytes to the client (forwarded replies, or native errors the session made). */
  toClient(bytes: Buffer): void;
  /** Facts policy knows about this connection so far (tuple plus identity). */
  facts(): ConnectionFacts;
  /** Merge identity into the connection (and every later record). */
  setIdentity(identity: SessionIdentity): void;
  /**
   * Merge extra top-level fields (e.g. `{ tls: { client: { server_name } } }`) into every
   * later record of this connection, connection-close included.
   */
  annotate(fields: JsonObject): void;
  /** Ask policy about one action; never throws (an evaluation error is a deny). */
  decide(action: ActionFacts): Decision;
  /** End the connection: flush what was written, record connection-close with this reason. */
  close(reason: CloseReason, detail?: string): void;
  /** Monotonic nanoseconds, for durations. */
  now(): bigint;
  /**
   * Upgrade the client leg to TLS using the listener's certificate (e.g. after answering
   * PostgreSQL's SSLRequest with `S`). Later client bytes arrive decrypted; `leftover` are
   * bytes already read after the TLS request (the start of the ClientHello). Absent when the
   * listener has no `tls:` configured.
   */
  readonly startClientTls?: (leftover?: Buffer) => void;
  /** Present when the listener has `auth: gateway`. */
  readonly gatewayAuth?: GatewayAuth;
  /**
   * The protocol's start-up is done (PostgreSQL/MySQL login answered, first HTTP request
   * head, TLS ClientHello): the listener's `handshake_timeout` stops applying. Absent in
   * contexts that enforce no deadlines.
   */
  readonly startupDone?: () => void;
  /**
   * HTTP: a request head is partly read (`true`, from its first byte) or not (`false`); a
   * head partly read for the listener's `header_timeout` ends the connection.
   */
  readonly readingHead?: (partial: boolean) => void;
}

export interface ProtocolSession {
  /** A chunk from the client, in order. */
  onClientData(chunk: Buffer): void;
  /** A chunk from the target, in order. */
  onServerData(chunk: Buffer): void;
  /** The connection is ending: record anything still pending (e.g. an unanswered query). */
  onClose?(): void;
  /**
   * The gateway is about to end the connection because a start-up or request-head deadline
   * passed: write the protocol's native answer now if it has one (HTTP 408). The gateway
   * closes the connection and records the reason itself.
   */
  onDeadline?(reason: 'handshake-timeout' | 'header-timeout'): void;
}

export type SessionFactory = (ctx: SessionContext) => ProtocolSession;

/**
 * `decision.reason` of an action refused because the audit store cannot record it (strict
 * mode, `on_store_failure: refuse`). Sessions answer it with their protocol's native
 * "try again later" error instead of their policy denial (docs/operations.md, Store faults).
 */
export const STORE_UNAVAILABLE = 'store-unavailable';

/** The decision the gateway hands a session while the audit store refuses writes. */
export function storeRefusal(policyVersion?: string): Decision {
  return {
    verdict: 'deny',
    reason: STORE_UNAVAILABLE,
    ...(policyVersion === undefined ? {} : { policyVersion }),
  };
}

/** True for a refusal because the audit store is unavailable (never a policy rule's denial). */
export function isStoreRefusal(decision: Decision): boolean {
  return (
    decision.verdict === 'deny' &&
    decision.reason === STORE_UNAVAILABLE &&
    decision.ruleId === undefined
  );
}

/**
 * What a native refusal of a new connection may do: the gateway owns the socket, records the
 * refusal itself, and bounds the time and bytes such a connection gets.
 */
export interface RefusalContext {
  /** Write bytes to the client. */
  toClient(bytes: Buffer): void;
  /** Upgrade the client leg to TLS (PostgreSQL SSLRequest); absent without `tls:`. */
  readonly startClientTls?: (leftover?: Buffer) => void;
  /** The answer is written (or none can be given): end the connection. */
  done(): void;
}

/** Reads just enough of a client's start to answer it natively, then calls `done`. */
export interface ConnectionRefusal {
  /** Called once when the connection is handed over (a server-speaks-first protocol answers here). */
  start(): void;
  onClientData(chunk: Buffer): void;
}

export type ConnectionRefusalFactory = (ctx: RefusalContext) => ConnectionRefusal;
