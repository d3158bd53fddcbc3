/** A SessionContext that keeps everything a MySQL session does, for unit tests. */
import type { CloseReason, EventInput, JsonObject } from '../../src/audit/event.js';
import type { ActionFacts, ConnectionFacts, Decision } from '../../src/policy/action.js';
import type {
  SessionContext,
  SessionIdentity,
  SessionOptions,
} from '../../src/protocols/session.js';

export interface FakeRecord {
  readonly id: string;
  readonly input: EventInput;
}

export interface FakeContext extends SessionContext {
  readonly records: FakeRecord[];
  readonly upstream: Buffer[];
  readonly client: Buffer[];
  readonly decisions: ActionFacts[];
  readonly annotations: JsonObject[];
  identity: SessionIdentity;
  closed: { reason: CloseReason; detail?: string } | null;
  tlsStarted: number;
  upstreamBytes(): Buffer;
  clientBytes(): Buffer;
  /** Records of one action, in order. */
  actions(action: string): EventInput[];
}

export interface FakeOptions {
  readonly decide?: (action: ActionFacts) => Decision;
  readonly recordValues?: boolean;
  readonly maxMessageBytes?: number;
  readonly tls?: boolean;
}

export function fakeContext(options: FakeOptions = {}): FakeContext {
  let clock = 1_000n;
  let nextId = 0;
  const sessionOptions: SessionOptions = {
    listener: 'mysql-test',
    maxMessageBytes: options.maxMessageBytes ?? 16 * 1024 * 1024,
    recordValues: options.recordValues ?? false,
    extra: {},
  };
  const ctx: FakeContext = {
    connectionId: 'c-test',
    options: sessionOptions,
    records: [],
    upstream: [],
    client: [],
    decisions: [],
    annotations: [],
    identity: {},
    closed: null,
    tlsStarted: 0,
    record(input: EventInput): string {
      const id = `e${++nextId}`;
      ctx.records.push({ id, input });
      return id;
    },
    toUpstream(bytes: Buffer): void {
      ctx.upstream.push(Buffer.from(bytes));
    },
    toClient(bytes: Buffer): void {
      ctx.client.push(Buffer.from(bytes));
    },
    facts(): ConnectionFacts {
      return { listener: 'mysql-test', sourceIp: '127.0.0.1', sourcePort: 50000, ...ctx.identity };
    },
    setIdentity(identity: SessionIdentity): void {
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
      ctx.closed = { reason, ...(detail === undefined ? {} : { detail }) };
    },
    now(): bigint {
      clock += 1_000n;
      return clock;
    },
    upstreamBytes: () => Buffer.concat(ctx.upstream),
    clientBytes: () => Buffer.concat(ctx.client),
    actions: (action: string) =>
      ctx.records.filter((r) => r.input.event.action === action).map((r) => r.input),
  };
  if (options.tls === true) {
    Object.assign(ctx, {
      startClientTls: () => {
        ctx.tlsStarted += 1;
      },
    });
  }
  return ctx;
}
