/**
 * A recording SessionContext for protocol session unit tests (HTTP and TLS): keeps records,
 * bytes each way, annotations and the close, and answers policy with a supplied function.
 */
import type { CloseReason, EventInput, JsonObject } from '../../src/audit/event.js';
import type { ActionFacts, ConnectionFacts, Decision } from '../../src/policy/action.js';
import type { SessionContext } from '../../src/protocols/session.js';

export interface FakeContext extends SessionContext {
  readonly records: (EventInput & { readonly id: string })[];
  readonly upstream: Buffer[];
  readonly client: Buffer[];
  readonly annotations: JsonObject[];
  readonly decisions: ActionFacts[];
  closed?: { readonly reason: CloseReason; readonly detail?: string };
  upstreamText(): string;
  clientText(): string;
  /** Records with this `event.action`. */
  actions(action: string): (EventInput & { readonly id: string })[];
}

export interface FakeOptions {
  readonly decide?: (action: ActionFacts) => Decision;
  readonly extra?: Record<string, unknown>;
  readonly maxMessageBytes?: number;
  readonly sourceIp?: string;
  readonly sourcePort?: number;
}

export function fakeContext(options: FakeOptions = {}): FakeContext {
  let clock = 1_000n;
  const ctx: FakeContext = {
    connectionId: 'c-test',
    options: {
      listener: 'test',
      maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
      recordValues: false,
      extra: options.extra ?? {},
    },
    records: [],
    upstream: [],
    client: [],
    annotations: [],
    decisions: [],
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
      return {
        listener: 'test',
        sourceIp: options.sourceIp ?? '10.0.0.7',
        sourcePort: options.sourcePort ?? 51234,
      };
    },
    setIdentity(): void {},
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
    upstreamText: () => Buffer.concat(ctx.upstream).toString('latin1'),
    clientText: () => Buffer.concat(ctx.client).toString('latin1'),
    actions: (action) => ctx.records.filter((r) => r.event.action === action),
  };
  return ctx;
}
