/**
 * RFC 8785 (JCS) canonical JSON: object keys sorted by UTF-16 code units, no insignificant
 * whitespace, strings escaped as ECMAScript JSON.stringify does, numbers in ECMAScript's
 * shortest form (which JSON.stringify produces for finite numbers). The `canonicalize`
 * package implements the same algorithm but requires Node 22; test/unit/audit/canonical
 * proves byte equality on the RFC's examples, and test/unit/audit/canonical-reference
 * against a plain implementation on arbitrary values.
 *
 * Every record of the log goes through here, so the encoder avoids the generic costs it
 * can (bench/integrity.ts, ~700-byte records): key texts come from a cache instead of one
 * JSON.stringify per key, short key lists are sorted by insertion (Array#sort costs ~160 ns
 * for six keys) and their order is remembered for the next record of the same kind, ASCII
 * strings that need no escape are copied as they are, and the bytes of frozen parts are
 * computed once.
 */
import type { JsonValue } from './event.js';

/**
 * The text is written as UTF-8 into one reused buffer and decoded once at the end: the
 * result is a single flat string, which the leaf hash and the store's insert need, and a
 * record costs one string instead of a rope of ~150 short strings and concatenations
 * (4.2 KB of garbage per bench record: most of what the Recorder allocated).
 */
let out: Buffer = Buffer.allocUnsafe(64 * 1024);
let pos = 0;
/** Nesting of canonicalJson calls (only a getter or a Proxy could nest one). */
let depth = 0;
/** A buffer grown past this by one huge value is not kept for the next call. */
const KEEP_BYTES = 1024 * 1024;

/**
 * Canonical UTF-8 of deeply frozen objects and arrays, computed once: the parts of a record
 * that stay the same for a whole connection (its tuple, listener, network, observer) are
 * frozen where they are built, so each record serializes only what is new in it.
 */
const frozenBytes = new WeakMap<object, Uint8Array>();

/**
 * `"key":` for the keys seen so far. Records use a few dozen distinct keys; the cap keeps
 * a stream of arbitrary keys (ingested documents) from growing it without bound.
 */
const keyBytes = new Map<string, Uint8Array>();
const MAX_KEYS = 4096;

/** Set by `write`: whether the value it just wrote is deeply frozen (safe to cache). */
let stable = true;

export function canonicalJson(value: unknown): string {
  if (depth > 0) return nested(value);
  depth++;
  pos = 0;
  top = 0;
  try {
    write(value);
    return out.toString('utf8', 0, pos);
  } finally {
    depth--;
    if (out.length > KEEP_BYTES) out = Buffer.allocUnsafe(64 * 1024);
  }
}

/**
 * The canonical text of `value` and `hashPrefixed(0x00 ‖ its UTF-8 bytes)`: the record's
 * body and its RFC 6962 leaf hash from the bytes just written, instead of encoding the text
 * again behind a one-character prefix (~0.3 µs and ~0.7 KB of garbage a record).
 */
export function canonicalJsonAndLeaf(
  value: unknown,
  hashPrefixed: (bytes: Uint8Array) => Buffer,
): { readonly body: string; readonly leaf: Buffer } {
  if (depth > 0) {
    const body = nested(value);
    return { body, leaf: hashPrefixed(Buffer.from(`\u0000${body}`, 'utf8')) };
  }
  depth++;
  out[0] = 0x00;
  pos = 1;
  top = 0;
  try {
    write(value);
    return { body: out.toString('utf8', 1, pos), leaf: hashPrefixed(out.subarray(0, pos)) };
  } finally {
    depth--;
    if (out.length > KEEP_BYTES) out = Buffer.allocUnsafe(64 * 1024);
  }
}

/** Where `canonicalLeafInputInto` writes (a BodyArena of the store). */
export interface LeafInputArena {
  /** The next record goes here from `pos` on (with room for most records). */
  readonly chunk: Buffer;
  readonly pos: number;
  /** It was written there: `chunk[pos, end)`. */
  advance(end: number): void;
  /** It was written elsewhere: `bytes[0, length)`, to be copied into the arena. */
  place(bytes: Buffer, length: number): void;
}

/**
 * Writes 0x00 ‖ the canonical UTF-8 of `value` — the input of its RFC 6962 leaf hash —
 * into `arena`, in place, without making a string of it.
 */
export function canonicalLeafInputInto(value: unknown, arena: LeafInputArena): void {
  if (depth > 0) {
    const bytes = Buffer.from(`\u0000${nested(value)}`, 'utf8');
    arena.place(bytes, bytes.length);
    return;
  }
  depth++;
  const scratch = out;
  const chunk = arena.chunk;
  const start = arena.pos;
  out = chunk;
  out[start] = 0x00;
  pos = start + 1;
  top = 0;
  try {
    write(value);
    // A record that outgrew the chunk's room was moved to a larger buffer by `ensure`.
    if (out === chunk) arena.advance(pos);
    else arena.place(out.subarray(start, pos), pos - start);
  } finally {
    depth--;
    out = scratch;
  }
}

/** A call made while another is writing: it gets a buffer of its own. */
function nested(value: unknown): string {
  const outer = out;
  const outerPos = pos;
  const outerStable = stable;
  const outerKeys = stackKeys;
  const outerValues = stackValues;
  const outerTop = top;
  out = Buffer.allocUnsafe(1024);
  pos = 0;
  // The outer call may be gathering an object's members into the stack (a getter runs).
  stackKeys = [];
  stackValues = [];
  top = 0;
  try {
    write(value);
    return out.toString('utf8', 0, pos);
  } finally {
    out = outer;
    pos = outerPos;
    stable = outerStable;
    stackKeys = outerKeys;
    stackValues = outerValues;
    top = outerTop;
  }
}

/** Room for `n` more bytes. */
function ensure(n: number): void {
  if (pos + n <= out.length) return;
  let size = out.length * 2;
  while (size < pos + n) size *= 2;
  const grown = Buffer.allocUnsafe(size);
  out.copy(grown, 0, 0, pos);
  out = grown;
}

function putByte(b: number): void {
  if (pos === out.length) ensure(1);
  out[pos++] = b;
}

function putBytes(bytes: Uint8Array): void {
  const n = bytes.length;
  ensure(n);
  // A call into TypedArray#set costs more than copying a key's few bytes.
  if (n <= 16) {
    const o = out;
    for (let i = 0; i < n; i++) o[pos + i] = bytes[i] as number;
  } else {
    out.set(bytes, pos);
  }
  pos += n;
}

/** Text known to be ASCII (numbers, literals). */
function putAscii(s: string): void {
  const n = s.length;
  ensure(n);
  const o = out;
  for (let i = 0; i < n; i++) o[pos + i] = s.charCodeAt(i);
  pos += n;
}

/** Text in any characters, as UTF-8. */
function putText(s: string): void {
  ensure(3 * s.length);
  pos += out.write(s, pos, 'utf8');
}

/**
 * A string as JSON.stringify writes it. Most need no escape (no quote, backslash, control
 * character) and are ASCII: their code units are the bytes. Anything else, and long
 * strings, take JSON.stringify (which escapes lone surrogates and keeps pairs) and UTF-8.
 */
function putString(s: string): void {
  const n = s.length;
  if (n > 256) {
    putText(JSON.stringify(s));
    return;
  }
  ensure(n + 2);
  const o = out;
  const start = pos;
  o[start] = 0x22;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || c > 0x7e) {
      putText(JSON.stringify(s));
      return;
    }
    o[start + 1 + i] = c;
  }
  o[start + 1 + n] = 0x22;
  pos = start + n + 2;
}

function keyOf(key: string): Uint8Array {
  let bytes = keyBytes.get(key);
  if (bytes === undefined) {
    bytes = Buffer.from(`${JSON.stringify(key)}:`, 'utf8');
    if (keyBytes.size < MAX_KEYS) keyBytes.set(key, bytes);
  }
  return bytes;
}

function write(value: unknown): void {
  stable = true;
  if (value === null) {
    putAscii('null');
    return;
  }
  switch (typeof value) {
    case 'string':
      putString(value);
      return;
    case 'boolean':
      putAscii(value ? 'true' : 'false');
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JCS: non-finite number');
      // Number#toString is JSON.stringify's form for every finite number (-0 included).
      putAscii(String(value));
      return;
    case 'bigint':
      putAscii(value.toString());
      return;
    case 'object': {
      // Only deeply frozen objects are cached, and they cannot change: a hit needs no
      // isFrozen (a call into the runtime), which is asked only of objects not cached.
      const hit = frozenBytes.get(value);
      if (hit !== undefined) {
        putBytes(hit);
        return;
      }
      const frozen = Object.isFrozen(value);
      const start = pos;
      if (Array.isArray(value)) writeArray(value as readonly unknown[], frozen);
      else writeObject(value as Readonly<Record<string, unknown>>, frozen);
      // A copy: the buffer is reused.
      if (stable) frozenBytes.set(value, new Uint8Array(out.subarray(start, pos)));
      return;
    }
    default:
      throw new TypeError(`JCS: cannot serialize ${typeof value}`);
  }
}

/** Leaves `stable` true only when `frozen` and every item was stable. */
function writeArray(value: readonly unknown[], frozen: boolean): void {
  let allStable = frozen;
  putByte(0x5b);
  for (let i = 0; i < value.length; i++) {
    if (i > 0) putByte(0x2c);
    const item = value[i];
    if (item === undefined) {
      putAscii('null');
    } else {
      write(item);
      allStable &&= stable;
    }
  }
  putByte(0x5d);
  stable = allStable;
}

/**
 * The members of the objects being written, in insertion order: a stack shared by the
 * nesting levels (an object's members sit at [base, base + n) while its values are
 * written), so that a record costs no arrays.
 */
let stackKeys: string[] = [];
let stackValues: unknown[] = [];
let top = 0;

/** Leaves `stable` true only when `frozen` and every member was stable. */
function writeObject(record: Readonly<Record<string, unknown>>, frozen: boolean): void {
  let allStable = frozen;
  const base = top;
  let n = 0;
  const keys = stackKeys;
  const values = stackValues;
  // A plain object's `for…in` lists its own keys as Object.keys does, without making an
  // array, and V8 loads `record[key]` inside it from its enum cache, not by key lookup.
  if (Object.getPrototypeOf(record) === Object.prototype) {
    for (const key in record) {
      keys[base + n] = key;
      values[base + n] = record[key];
      n++;
    }
  } else {
    const own = Object.keys(record);
    n = own.length;
    for (let i = 0; i < n; i++) {
      const key = own[i] as string;
      keys[base + i] = key;
      values[base + i] = record[key];
    }
  }
  top = base + n;
  const order = keyOrder(keys, base, n);
  putByte(0x7b);
  let first = true;
  for (let j = 0; j < n; j++) {
    const i = base + (order.sorted[j] as number);
    const v = values[i];
    if (v === undefined) continue;
    if (!first) putByte(0x2c);
    first = false;
    putBytes(order.keyBytes[j] as Uint8Array);
    write(v);
    allStable &&= stable;
  }
  putByte(0x7d);
  // The stack keeps no value alive after its object is written.
  for (let i = base; i < base + n; i++) values[i] = undefined;
  top = base;
  stable = allStable;
}

/** A key list and how to write it: insertion indexes in sorted order, and each `"key":`. */
interface KeyOrder {
  readonly keys: readonly string[];
  readonly sorted: readonly number[];
  readonly keyBytes: readonly Uint8Array[];
}

/**
 * Key lists seen lately and their sorted order: records of one kind have the same members
 * in the same insertion order, so most lists are found here (a comparison of interned
 * strings per key) instead of sorted again. Longer lists than `MEMO_MAX_KEYS` (ingested
 * documents) are sorted each time, not remembered.
 */
const SORTED_MEMO = 32;
const MEMO_MAX_KEYS = 24;
const memo: KeyOrder[] = [];
let memoNext = 0;

/** The order of the keys at `keys[base, base + n)`, in UTF-16 code units (`<` compares so). */
function keyOrder(keys: readonly string[], base: number, n: number): KeyOrder {
  search: for (let m = 0; m < memo.length; m++) {
    const seen = (memo[m] as KeyOrder).keys;
    if (seen.length !== n) continue;
    for (let i = 0; i < n; i++) if (seen[i] !== keys[base + i]) continue search;
    return memo[m] as KeyOrder;
  }
  const list = keys.slice(base, base + n);
  const sorted = list.map((_, i) => i);
  if (n > MEMO_MAX_KEYS) {
    sorted.sort((a, b) => compareKeys(list[a] as string, list[b] as string));
    return { keys: list, sorted, keyBytes: sorted.map((i) => keyOf(list[i] as string)) };
  }
  // Insertion sort: Array#sort costs ~160 ns for six keys.
  for (let i = 1; i < n; i++) {
    const at = sorted[i] as number;
    const key = list[at] as string;
    let j = i - 1;
    while (j >= 0 && (list[sorted[j] as number] as string) > key) {
      sorted[j + 1] = sorted[j] as number;
      j--;
    }
    sorted[j + 1] = at;
  }
  const order = { keys: list, sorted, keyBytes: sorted.map((i) => keyOf(list[i] as string)) };
  memo[memoNext] = order;
  memoNext = (memoNext + 1) % SORTED_MEMO;
  return order;
}

function compareKeys(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Freeze an object and every object inside it (see `frozenText`). */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function parseJsonObject(text: string): Record<string, JsonValue> {
  const value = JSON.parse(text) as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError('expected a JSON object');
  }
  return value as Record<string, JsonValue>;
}
