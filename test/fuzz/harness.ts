/**
 * The fuzz harness: a time budget shared by every target (FUZZ_SECONDS, default 60 in all),
 * inputs made from builder-made valid messages that are mutated (bytes flipped, 32-bit
 * fields overwritten — lengths are where parsers break —, cut, spliced with random bytes)
 * and delivered split at random offsets, and the one property every target shares: hostile
 * bytes give typed errors at most, never a crash.
 */
import fc from 'fast-check';
import type { ProtocolSession, SessionContext } from '../../src/protocols/session.js';
import { fakeSessionContext } from '../helpers/fake-session-context.js';
import type { FakeSessionContext } from '../helpers/fake-session-context.js';

/** How many fuzz targets share the budget (keep in step with the *.fuzz.ts files). */
export const TARGETS = 16;

/** This target's share of FUZZ_SECONDS, in ms. */
export function budgetMs(): number {
  const total = Number(process.env.FUZZ_SECONDS ?? '60');
  return Math.max(500, Math.floor((total * 1000) / TARGETS));
}

/** fast-check options: run until the time budget, counterexamples reported with their seed. */
export function fuzzOptions(): fc.Parameters<unknown> {
  return {
    numRuns: Number.MAX_SAFE_INTEGER,
    interruptAfterTimeLimit: budgetMs(),
    markInterruptAsFailure: false,
  };
}

const mutation = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    xor: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('int32' as const),
    at: fc.nat(),
    value: fc.oneof(fc.constantFrom(0, 1, 3, 4, 5, 0x7fffffff, -1, 0x10000), fc.integer()),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ maxLength: 16 }),
  }),
);

type Mutation = typeof mutation extends fc.Arbitrary<infer T> ? T : never;

function mutate(input: Buffer, m: Mutation): Buffer {
  if (input.length === 0) return input;
  const at = m.at % input.length;
  const out = Buffer.from(input);
  switch (m.kind) {
    case 'flip':
      out[at] = (out[at] ?? 0) ^ m.xor;
      return out;
    case 'int32':
      if (at + 4 <= out.length) out.writeInt32BE(m.value | 0, at);
      return out;
    case 'cut':
      return out.subarray(0, at);
    case 'insert':
      return Buffer.concat([out.subarray(0, at), Buffer.from(m.bytes), out.subarray(at)]);
    default: {
      const never: never = m;
      return never;
    }
  }
}

/** A stream made of seed messages (in order, some skipped or repeated), then mutated. */
export function streamFrom(seeds: readonly Buffer[]): fc.Arbitrary<Buffer> {
  const pick = fc.array(fc.nat({ max: Math.max(seeds.length - 1, 0) }), {
    minLength: 1,
    maxLength: seeds.length + 3,
  });
  return fc
    .tuple(pick, fc.array(mutation, { maxLength: 4 }), fc.uint8Array({ maxLength: 64 }))
    .map(([indexes, mutations, tail]) => {
      const sorted = [...indexes].sort((a, b) => a - b);
      let bytes: Buffer = Buffer.concat([
        ...sorted.map((i) => seeds[i] ?? Buffer.alloc(0)),
        Buffer.from(tail),
      ]);
      for (const m of mutations) bytes = mutate(bytes, m);
      return bytes;
    });
}

/** Split points for random chunking. */
export const splits = fc.array(fc.nat(), { maxLength: 12 });

export function chunk(bytes: Buffer, points: readonly number[]): Buffer[] {
  if (bytes.length === 0) return [];
  const cuts = [...new Set(points.map((p) => p % bytes.length))]
    .filter((p) => p > 0)
    .sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const c of cuts) {
    out.push(bytes.subarray(from, c));
    from = c;
  }
  out.push(bytes.subarray(from));
  return out;
}

/**
 * Feed client and server chunks alternately to a fresh session. The gateway catches a
 * throw from onClientData (the connection closes), but a throw from onServerData or onClose
 * would be an uncaught exception in a socket handler: the process would die. Neither may
 * throw; a protocol violation must become a close.
 */
export function feedSession(
  create: (ctx: SessionContext) => ProtocolSession,
  clientChunks: readonly Buffer[],
  serverChunks: readonly Buffer[],
  options: { maxMessageBytes?: number; extra?: Record<string, unknown> } = {},
): FakeSessionContext {
  const ctx = fakeSessionContext({
    maxMessageBytes: options.maxMessageBytes ?? 64 * 1024,
    ...(options.extra ? { extra: options.extra } : {}),
  });
  const session = create(ctx);
  const n = Math.max(clientChunks.length, serverChunks.length);
  for (let i = 0; i < n; i++) {
    const c = clientChunks[i];
    if (c) session.onClientData(c);
    const s = serverChunks[i];
    if (s) session.onServerData(s);
  }
  session.onClose?.();
  return ctx;
}
