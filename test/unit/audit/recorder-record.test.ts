/**
 * The record the Recorder builds is the merge `{ ...ctx.fields, ...extra, ...rest,
 * '@timestamp', event: { ...event, kind, id, sequence }, observer }`, whatever the parts
 * hold (members that override others, undefined ones, `__proto__`); its body is that
 * record's canonical JSON, its columns are derived from it, and what is stored is that row.
 */
import fc from 'fast-check';
import { hostname } from 'node:os';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { canonicalJson, deepFreeze } from '../../../src/audit/canonical.js';
import { formatTimestampNs } from '../../../src/audit/clock.js';
import type { EventInput, JsonObject, JsonValue } from '../../../src/audit/event.js';
import { leafHash } from '../../../src/audit/merkle.js';
import {
  NO_CONTEXT,
  Recorder,
  type RecordContext,
  recordObjectOf,
} from '../../../src/audit/recorder.js';
import { type EventRow, SqliteStore, deriveColumns } from '../../../src/store/index.js';

let store: SqliteStore;
let recorder: Recorder;
let committed: EventRow[];

beforeEach(() => {
  store = new SqliteStore(':memory:');
  recorder = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'test' });
  committed = [];
  recorder.onCommit((rows) => committed.push(...rows));
});
afterEach(() => {
  recorder.close();
  store.close();
});

/** The record as the spreads build it (the definition the Recorder must keep). */
function expectedRecord(
  row: EventRow,
  input: EventInput,
  ctx: RecordContext,
  extra: JsonObject | undefined,
): Record<string, unknown> {
  const { event, ...rest } = input;
  return {
    ...ctx.fields,
    ...(extra ?? {}),
    ...rest,
    '@timestamp': formatTimestampNs(row.timestampNs),
    event: { ...event, kind: event.kind ?? 'event', id: row.id, sequence: row.sequence },
    observer: { hostname: hostname(), id: 'test' },
  };
}

/** An object with these members in this order; `__proto__` stays a member, as JSON.parse makes it. */
function objectOf(entries: readonly (readonly [string, unknown])[]): JsonObject {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o as JsonObject;
}

const key = fc.constantFrom(
  'user',
  'db',
  'redis',
  'url',
  'http',
  'upstream',
  'rule',
  'policy',
  'observer',
  'event',
  '@timestamp',
  'listener',
  '__proto__',
  'a',
  '\u20ac',
);
const leaf = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
const nested: fc.Arbitrary<JsonValue | undefined> = fc.oneof(
  leaf,
  fc.constant(undefined),
  fc.dictionary(fc.constantFrom('name', 'id', 'version', 'command', 'key', 'path'), leaf),
  fc.record({
    operation: fc.string({ maxLength: 6 }),
    query: fc.record({ text: fc.string(), class: fc.constantFrom('read', 'write') }),
    response: fc.record({ status_code: fc.oneof(fc.integer(), fc.string({ maxLength: 5 })) }),
  }),
);
const layer = fc.array(fc.tuple(key, nested), { maxLength: 6 }).map((entries) => objectOf(entries));

describe('Recorder record building', () => {
  it('builds the merged record, its body, columns and stored row for arbitrary parts', () => {
    fc.assert(
      fc.property(
        layer,
        fc.option(layer, { nil: undefined }),
        layer,
        fc.boolean(),
        fc.record({
          action: fc.constantFrom('db-query' as const, 'redis-command' as const),
          kind: fc.option(fc.constantFrom('event' as const, 'alert' as const), { nil: undefined }),
          outcome: fc.option(fc.constantFrom('success' as const, 'failure' as const), {
            nil: undefined,
          }),
          reason: fc.option(fc.string(), { nil: undefined }),
        }),
        (fields, extra, rest, freeze, ev) => {
          const event = { category: ['database'], type: ['access'], ...ev };
          const input = { ...rest, event } as unknown as EventInput;
          const ctx: RecordContext = {
            ...NO_CONTEXT,
            fields: freeze ? deepFreeze(fields) : fields,
            listener: 'l',
            user: 'ctx-user',
          };
          const ref = recorder.append(input, ctx, extra);
          recorder.flush();
          const row = committed.at(-1);
          expect(row?.sequence).toBe(ref.sequence);
          if (row === undefined) return;
          const expected = expectedRecord(row, input, ctx, extra);
          const own = recordObjectOf(row);
          expect(own).toEqual(expected);
          expect(Object.keys(own ?? {})).toEqual(Object.keys(expected));
          // The record rides on the row itself, not as a member: a copy is a plain row.
          expect(recordObjectOf({ ...row })).toBeUndefined();
          expect({ ...row }).toEqual(row);
          expect(row.body).toBe(canonicalJson(expected));
          expect(row.leafHash.equals(leafHash(row.body ?? ''))).toBe(true);
          expect(row).toMatchObject(deriveColumns(expected));
          const stored = store.getBySequence(row.sequence);
          expect(stored?.body).toBe(row.body);
          expect(stored).toMatchObject(deriveColumns(JSON.parse(row.body ?? '{}') as JsonObject));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('keeps `__proto__` a member of the record, as a spread does', () => {
    const fields = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as JsonObject;
    recorder.append(
      { event: { action: 'db-query', category: [], type: [] } },
      {
        ...NO_CONTEXT,
        fields,
      },
    );
    recorder.flush();
    const row = committed[0];
    expect(row?.body).toContain('"__proto__":{"polluted":true}');
    const own = row ? recordObjectOf(row) : undefined;
    expect(Object.getPrototypeOf(own)).toBe(Object.prototype);
    expect(Object.keys(own ?? {})).toContain('__proto__');
  });

  it('refuses a record JSON cannot carry without using up its sequence', () => {
    const event: EventInput['event'] = {
      action: 'db-query',
      category: ['database'],
      type: ['access'],
    };
    expect(() => recorder.append({ event, db: { rows: Number.NaN } })).toThrow(/non-finite/);
    expect(recorder.size).toBe(0);
    const next = recorder.append({ event });
    expect(next.sequence).toBe(0);
    expect(recorder.flush()).toBe(true);
    expect(store.nextSequence()).toBe(1);
  });
});
