import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  canonicalJsonAndLeaf,
  canonicalLeafInputInto,
  deepFreeze,
} from '../../../src/audit/canonical.js';
import { leafHash, prefixedLeafHash } from '../../../src/audit/merkle.js';
import { BodyArena, bodyText } from '../../../src/store/index.js';

/**
 * RFC 8785 written the obvious way: keys sorted by UTF-16 code units, undefined members
 * left out, undefined array items as null, strings and numbers as JSON.stringify writes
 * them. The encoder's caches and shortcuts must never change a byte of its output.
 */
function reference(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('non-finite');
    return JSON.stringify(value);
  }
  if (Array.isArray(value))
    return `[${value.map((v: unknown) => (v === undefined ? 'null' : reference(v))).join(',')}]`;
  if (typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const members: string[] = [];
    for (const key of Object.keys(record).sort(compareUtf16)) {
      const v = record[key];
      if (v !== undefined) members.push(`${JSON.stringify(key)}:${reference(v)}`);
    }
    return `{${members.join(',')}}`;
  }
  throw new TypeError(typeof value);
}

function compareUtf16(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Keys that stress the ordering: astral and BMP characters above the surrogates, digits. */
const key = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom('\ud83d\ude00', '\ufb33', '\u20ac', '\u00f6', '\r', '1', '10', '9', '__proto__'),
  fc.nat({ max: 20 }).map(String),
);

/** Strings with escapes, lone and paired surrogates, long ones (another quoting path). */
const text = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary' }),
  fc.string({ unit: 'grapheme' }),
  fc.constantFrom('\ud800', 'a\udc00b', '"\\', '\u0000\u001f\u007f', '\u2028\u2029'),
  fc.string({ minLength: 60, maxLength: 120 }),
);

const number = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }));

/** Arbitrary JSON-like values with undefined members and items, some subtrees frozen. */
const { value } = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(null, true, false),
    text,
    number,
    fc.array(fc.oneof(tie('value'), fc.constant(undefined)), { maxLength: 5 }),
    fc
      .array(fc.tuple(key, fc.oneof(tie('value'), fc.constant(undefined))), { maxLength: 6 })
      .map(objectOf),
    // Frozen parts are cached by identity: freeze some, including mixes of frozen and not.
    tie('value').map((v) => (v !== null && typeof v === 'object' ? Object.freeze(v) : v)),
    tie('value').map((v) => deepFreeze(v)),
  ),
}));

/** An object from entries; `__proto__` stays an own key, as JSON.parse would make it. */
function objectOf(entries: [string, unknown][]): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const [k, v] of entries)
    Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
  return o;
}

describe('canonicalJson against a reference RFC 8785 encoder', () => {
  it('gives the same text for arbitrary values, frozen or not', () => {
    fc.assert(
      fc.property(value, (v) => {
        const expected = reference(v);
        expect(canonicalJson(v)).toBe(expected);
        // Again: the second time frozen parts come from the cache.
        expect(canonicalJson(v)).toBe(expected);
      }),
      { numRuns: 2000 },
    );
  });

  it('canonicalJsonAndLeaf gives the same text and the leaf hash of its UTF-8 bytes', () => {
    fc.assert(
      fc.property(value, (v) => {
        const expected = reference(v);
        const { body, leaf } = canonicalJsonAndLeaf(v, prefixedLeafHash);
        expect(body).toBe(expected);
        expect(leaf.equals(leafHash(expected))).toBe(true);
        expect(leaf.equals(leafHash(Buffer.from(expected, 'utf8')))).toBe(true);
      }),
      { numRuns: 1000 },
    );
    // Larger than the reused buffer, and called while another value is being written.
    const big = { text: 'é"☕𝄞'.repeat(300_000) };
    expect(canonicalJsonAndLeaf(big, prefixedLeafHash).leaf.equals(leafHash(reference(big)))).toBe(
      true,
    );
    const inner = { z: 'ü', a: [1] };
    let nestedLeaf: Buffer | undefined;
    const outer = {
      get b(): string {
        const r = canonicalJsonAndLeaf(inner, prefixedLeafHash);
        nestedLeaf = r.leaf;
        return r.body;
      },
    };
    expect(canonicalJsonAndLeaf(outer, prefixedLeafHash).body).toBe(
      '{"b":"{\\"a\\":[1],\\"z\\":\\"ü\\"}"}',
    );
    expect(nestedLeaf?.equals(leafHash('{"a":[1],"z":"ü"}'))).toBe(true);
  });

  it('canonicalLeafInputInto writes 0x00 and the same UTF-8 bytes into an arena, one record after another', () => {
    const arena = new BodyArena();
    // Most of the first chunk taken, so that the values below go on into the next.
    canonicalLeafInputInto({ pad: 'x'.repeat(100_000) }, arena);
    const placed: { chunk: Buffer; at: number; length: number; expected: string }[] = [];
    fc.assert(
      fc.property(value, (v) => {
        const expected = reference(v);
        canonicalLeafInputInto(v, arena);
        const p = arena.placed;
        expect(p.chunk[p.at - 1]).toBe(0x00);
        expect(bodyText(p)).toBe(expected);
        expect(prefixedLeafHash(p.chunk.subarray(p.at - 1, p.at + p.length))).toEqual(
          leafHash(expected),
        );
        placed.push({ ...p, expected });
      }),
      { numRuns: 1000 },
    );
    // Records placed later never overwrote earlier ones, across chunks.
    expect(new Set(placed.map((p) => p.chunk)).size).toBeGreaterThan(1);
    for (const p of placed) expect(bodyText(p)).toBe(p.expected);
  });

  it('canonicalLeafInputInto moves a record that outgrows the room left in a chunk to a chunk of its own', () => {
    const arena = new BodyArena();
    canonicalLeafInputInto({ a: 1 }, arena);
    const first = arena.placed;
    // Larger than a whole chunk (128 KiB), then one that fits again.
    const big = { text: 'é"☕𝄞'.repeat(40_000), n: [1, 2] };
    canonicalLeafInputInto(big, arena);
    const second = arena.placed;
    expect(second.chunk).not.toBe(first.chunk);
    expect(bodyText(second)).toBe(reference(big));
    expect(second.chunk[second.at - 1]).toBe(0x00);
    canonicalLeafInputInto({ b: 'after' }, arena);
    expect(bodyText(arena.placed)).toBe('{"b":"after"}');
    expect(bodyText(first)).toBe('{"a":1}');
    // Called while another value is being written (a getter): the inner one is placed whole.
    const outer = {
      get b(): string {
        canonicalLeafInputInto({ z: 'ü' }, arena);
        return 'x';
      },
    };
    expect(canonicalJson(outer)).toBe('{"b":"x"}');
    expect(bodyText(arena.placed)).toBe('{"z":"ü"}');
  });

  it('gives the same text when a frozen part is reused inside different records', () => {
    fc.assert(
      fc.property(value, value, fc.array(key, { maxLength: 4 }), (shared, other, keys) => {
        const part = deepFreeze(shared);
        const records = keys.map((k, i) =>
          objectOf([
            [k, part],
            [`${k}~${i}`, other],
          ]),
        );
        for (const r of records) expect(canonicalJson(r)).toBe(reference(r));
      }),
    );
  });

  it('does not cache a frozen object whose members are not frozen', () => {
    const inner = { n: 1 };
    const outer = Object.freeze({ inner });
    expect(canonicalJson(outer)).toBe('{"inner":{"n":1}}');
    inner.n = 2;
    expect(canonicalJson(outer)).toBe('{"inner":{"n":2}}');
  });

  it('sorts every insertion order of the same keys, past the memo of recent key lists', () => {
    const keys = ['user', 'db', '@timestamp', 'event', 'a', 'é', 'Z', 'source'];
    // Every rotation and its reverse, several times over: more key lists than the memo holds.
    for (let round = 0; round < 3; round++) {
      for (let r = 0; r < keys.length * 6; r++) {
        const rotated = [...keys.slice(r % keys.length), ...keys.slice(0, r % keys.length)];
        const order = r % 2 === 0 ? rotated : rotated.reverse();
        const o: Record<string, number> = {};
        for (const [i, k] of order.slice(0, 2 + (r % (keys.length - 1))).entries()) o[k] = i;
        expect(canonicalJson(o)).toBe(reference(o));
      }
    }
  });

  it('writes own members only, whatever the prototype, with the key lists of plain objects in its memo', () => {
    // A plain object with the same own keys first puts its list in the memo.
    expect(canonicalJson({ b: 1, a: 2 })).toBe('{"a":2,"b":1}');
    const proto = { c: 3 };
    const child = Object.create(proto) as Record<string, number>;
    child.b = 1;
    child.a = 2;
    const bare = Object.create(null) as Record<string, number>;
    bare.b = 1;
    bare.a = 2;
    // for…in would list the inherited `c`: only own members are written.
    expect(canonicalJson(child)).toBe('{"a":2,"b":1}');
    expect(canonicalJson(bare)).toBe('{"a":2,"b":1}');
    // A plain object whose own keys are the memo's list plus more is not taken for it.
    expect(canonicalJson({ b: 1, a: 2, c: 3 })).toBe('{"a":2,"b":1,"c":3}');
    expect(canonicalJson({ b: 1 })).toBe('{"b":1}');
  });

  it('sorts a key list longer than the insertion-sort cutoff', () => {
    const keys = Array.from({ length: 40 }, (_, i) => `k${(i * 7919) % 40}`);
    const o = objectOf(keys.map((k) => [k, k]));
    expect(canonicalJson(o)).toBe(reference(o));
  });

  it('writes values larger than its buffer, and the next value after them', () => {
    const big = { text: 'é"x'.repeat(400_000), list: Array.from({ length: 50_000 }, (_, i) => i) };
    expect(canonicalJson(big)).toBe(reference(big));
    const small = { b: [1, 'two'], a: null };
    expect(canonicalJson(small)).toBe(reference(small));
  });

  it('survives a canonicalJson call made while it writes (a getter)', () => {
    const inner = { z: 'inner', a: [1, 2] };
    const outer = {
      b: 'before',
      get c(): string {
        return canonicalJson(inner);
      },
      d: 'after',
    };
    expect(canonicalJson(outer)).toBe(
      '{"b":"before","c":"{\\"a\\":[1,2],\\"z\\":\\"inner\\"}","d":"after"}',
    );
  });

  it('refuses what JSON cannot carry', () => {
    expect(() => canonicalJson({ a: Number.POSITIVE_INFINITY })).toThrow(/non-finite/);
    expect(() => canonicalJson(Object.freeze([Number.NaN]))).toThrow(/non-finite/);
    expect(() => canonicalJson({ f: () => 1 })).toThrow(/cannot serialize/);
  });
});
