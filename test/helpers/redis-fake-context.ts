/**
 * A recording SessionContext for Redis session unit tests: keeps records, bytes each way,
 * identity, annotations and the close; answers policy with a supplied function.
 */
import type { CloseReason, EventInput, JsonObject } from '../../src/audit/event.js';
import type { ActionFacts, ConnectionFacts, Decision } from '../../src/policy/action.js';
import type { SessionContext, SessionIdentity } from '../../src/protocols/session.js';

export type RecordedEvent = EventInput & { readonly id: string };

export interface RedisFakeContext extends SessionContext {
  readonly records: RecordedEvent[];
  readonly upstream: Buffer[];
  readonly client: Buffer[];
  readonly identities: SessionIdentity[];
  readonly annotations: JsonObject[];
  readonly decisions: ActionFacts[];
  closed: { readonly reason: CloseReason; readonly detail?: string } | undefined;
  upstreamBytes(): Buffer;
  clientBytes(): Buffer;
  /** Records with this `event.action`. */
  actions(action: string): RecordedEvent[];
}

export interface RedisFakeOptions {
  readonly decide?: (action: ActionFacts) => Decision;
  readonly recordValues?: boolean;
  readonly maxMessageBytes?: number;
}

export function redisFakeContext(options: RedisFakeOptions = {}): RedisFakeContext {
  let clock = 1_000n;
  const ctx: RedisFakeContext = {
    connectionId: 'c-test',
    options: {
      listener: 'cache',
      maxMessageBytes: options.maxMessageBytes ?? 1024 * 1024,
      recordValues: options.recordValues ?? false,
      extra: {},
    },
    records: [],
    upstream: [],
    client: [],
    identities: [],
    annotations: [],
    decisions: [],
    closed: undefined,
    record(input: EventInput): string {
      const id = `ev-${ctx.records.length + 1}`;
      ctx.records.push({ ...input, id });
      return id;
    },
    toUpstream(bytes: Buffer): void {
      ctx.upstream.push(Buffer.from(bytes));
    },
    toClient(bytes: Buffer): void {
      ctx.client.push(Buffer.from(bytes));
    },
    facts(): ConnectionFacts {
      return { listener: 'cache', sourceIp: '10.0.0.7', sourcePort: 51234 };
    },
    setIdentity(identity: SessionIdentity): void {
      ctx.identities.push(identity);
    },
    annotate(fields: JsonObject): void {
      ctx.annotations.push(fields);
    },
    decide(action: ActionFacts): Decision {
      ctx.decisions.push(action);
      return options.decide?.(action) ?? { verdict: 'allow', reason: 'audit-only listener' };
    },
    close(reason: CloseReason, detail?: string): void {
      ctx.closed = detail === undefined ? { reason } : { reason, detail };
    },
    now(): bigint {
      clock += 1_000n;
      return clock;
    },
    upstreamBytes: () => Buffer.concat(ctx.upstream),
    clientBytes: () => Buffer.concat(ctx.client),
    actions: (action: string) => ctx.records.filter((r) => r.event.action === action),
  };
  return ctx;
}
