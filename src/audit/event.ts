/**
 * The audit event: one JSON object per record, nested like ECS (docs/events.md).
 * Records are plain JSON values; the recorder adds identity fields (`@timestamp`,
 * `event.id`, `event.sequence`, `observer`) and, for connection records, the whole tuple.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const EVENT_ACTIONS = [
  'connection-open',
  'connection-close',
  'db-login',
  'db-query',
  'db-result',
  'db-cancel',
  'redis-command',
  'redis-reply',
  'http-request',
  'http-response',
  'tls-client-hello',
  'policy-reload',
  'audit-finding',
  'checkpoint',
  'prune',
  'api-request',
  'grant',
] as const;
/** Known actions; detectors add `anomaly-<name>`, ingest adds module actions. */
export type EventAction = (typeof EVENT_ACTIONS)[number] | `anomaly-${string}` | `ingest-${string}`;

export type EventOutcome = 'success' | 'failure' | 'unknown';

/** Why a connection ended (`event.reason` on connection-close and refused connection-open). */
export type CloseReason =
  | 'client-close'
  | 'server-close'
  | 'reset'
  | 'timeout'
  | 'upstream-unreachable'
  | 'policy'
  | 'shutdown'
  | 'limit'
  | 'protocol-error'
  | 'proxy-header'
  | 'store-unavailable'
  | 'handshake-timeout'
  | 'header-timeout'
  | 'slow-client';

/** What a caller hands the recorder: the `event` part it knows, plus any other top-level fields. */
export interface EventInput {
  readonly event: {
    readonly action: EventAction;
    readonly kind?: 'event' | 'alert' | 'state';
    readonly category: readonly string[];
    readonly type: readonly string[];
    readonly outcome?: EventOutcome;
    readonly duration?: number;
    readonly reason?: string;
    readonly reference?: string;
    readonly severity?: number;
    readonly module?: string;
  };
  readonly [field: string]: JsonValue | EventInput['event'] | undefined;
}

/** A committed record as read back from the store. */
export interface StoredEvent {
  readonly sequence: number;
  readonly timestampNs: bigint;
  readonly id: string;
  /** The canonical JSON bytes whose leaf hash is in the tree (null when pruned). */
  readonly body: string | null;
  readonly leafHash: Buffer;
}

/** The endpoint pair of one leg. */
export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}
