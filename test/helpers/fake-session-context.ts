/**
 * A recording SessionContext for protocol session unit tests: keeps every record, the bytes
 * written each way, identities, annotations, policy questions and the close, and answers
 * policy with a supplied function (allow by default). The per-protocol files
 * (pg-, mysql-, redis-fake-context.ts) only set their listener name, client and limits.
 */
import type { CloseReason, EventInput, JsonObject } from '../../src/audit/event.js';
import type { ActionFacts, ConnectionFacts, Decision } from '../../src/policy/action.js';
import type { SessionContext, SessionIdentity } from '../../src/protocols/session.js';

/** A record as the session handed it over, with the id `record()` answered. */
export type RecordedEvent = EventInput & { readonly id: string };

export interface FakeClose {
  readonly reason: CloseReason;
  readonly detail?: string;
}

export interface FakeSessionContext extends SessionContext {
  readonly records: RecordedEvent[];
  readonly upstream: Buffer[];
  readonly client: Buffer[];
  readonly annotations: JsonObject[];
  readonly decisions: ActionFacts[];
  /** Every `setIdentity` call, in order. */
  readonly identities: SessionIdentity[];
  /** The identity so far: every `setIdentity` merged, as `facts()` reports it. */
  identity: SessionIdentity;
  /** The first close (the one a real connection keeps); null while open. */
  closed: FakeClose | null;
  /** How many times the session asked for client TLS (only with `tls: true`). */
  tlsStarted: number;
  /** Everything written upstream so far, concatenated. */
  upstreamBytes(): Buffer;
  clientBytes(): Buffer;
  /** `upstreamBytes()` as latin1 text. */
  upstreamText(): string;
  clientText(): string;
  /** Records with this `event.action`, in order. */
  actions(action: string): RecordedEvent[];
  /** The same records as the session handed them to `record()` (no id). */
  inputs(action: string): EventInput[];
}

export interface FakeSessionOptions {
  readonly decide?: (action: ActionFacts) => Decision;
  readonly listener?: string;
  readonly recordValues?: boolean;
  readonly maxMessageBytes?: number;
  readonly extra?: Record<string, unknown>;
  readonly sourceIp?: string;
  readonly sourcePort?: number;
  /** Offer `startClientTls`, as a listener with a certificate does. */
  readonly tls?: boolean;
}

export function fakeSessionContext(options: FakeSessionOptions = {}): FakeSessionContext {
  let clock = 1_000n;
  const handed: EventInput[] = [];
  const listener = options.listener ?? 'test';
  const ctx: FakeSessionContext = {
    connectionId: 'c-test',
    options: {
      listener,
      maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
      recordValues: options.recordValues ?? false,
      extra: options.extra ?? {},
    },
    records: [],
    upstream: [],
    client: [],
    annotations: [],
    decisions: [],
    identities: [],
    identity: {},
    closed: null,
    tlsStarted: 0,
    record(input: EventInput): string {
      const id = `ev-${ctx.records.length + 1}`;
      ctx.records.push({ ...input, id });
      handed.push(input);
      return id;
    },
    toUpstream(bytes: Buffer): void {
      ctx.upstream.push(Buffer.from(bytes));
    },
    toClient(bytes: Buffer): void {
      ctx.client.push(Buffer.from(bytes));
    },
    facts(): ConnectionFacts {
      return {
        listener,
        sourceIp: options.sourceIp ?? '10.0.0.7',
        sourcePort: options.sourcePort ?? 51234,
        ...ctx.identity,
      };
    },
    setIdentity(identity: SessionIdentity): void {
      ctx.identities.push(identity);
      ctx.identity = { ...ctx.identity, ...identity };
    },
    annotate(fields: JsonObject): void {
      ctx.annotations.push(fields);
    },
    decide(action: ActionFacts): Decision {
      ctx.decisions.push(action);
      return options.decide?.(action) ?? { verdict: 'allow', reason: 'audit-only listener' };
    },
    close(reason: CloseReason, detail?: string): void {
      ctx.closed ??= detail === undefined ? { reason } : { reason, detail };
    },
    now(): bigint {
      clock += 1_000n;
      return clock;
    },
    upstreamBytes: () => Buffer.concat(ctx.upstream),
    clientBytes: () => Buffer.concat(ctx.client),
    upstreamText: () => ctx.upstreamBytes().toString('latin1'),
    clientText: () => ctx.clientBytes().toString('latin1'),
    actions: (action: string) => ctx.records.filter((r) => r.event.action === action),
    inputs: (action: string) => handed.filter((r) => r.event.action === action),
    ...(options.tls === true
      ? {
          startClientTls: (): void => {
            ctx.tlsStarted += 1;
          },
        }
      : {}),
  };
  return ctx;
}

/** A fake context whose `actions` answers records as handed over (no id). */
export interface LoopbackFakeContext extends Omit<FakeSessionContext, 'actions'> {
  /** Records of one action, in order, as the session handed them over (no id). */
  actions(action: string): EventInput[];
}
export type LoopbackFakeOptions = Omit<FakeSessionOptions, 'listener' | 'sourceIp' | 'sourcePort'>;

/** The PostgreSQL and MySQL session tests' context: their listener, a client on 127.0.0.1:50000. */
export function loopbackFakeContext(
  listener: string,
  options: LoopbackFakeOptions = {},
): LoopbackFakeContext {
  const ctx = fakeSessionContext({
    ...options,
    listener,
    sourceIp: '127.0.0.1',
    sourcePort: 50000,
  });
  return Object.assign(ctx, { actions: (action: string) => ctx.inputs(action) });
}
