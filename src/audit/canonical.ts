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
 * for six keys), strings that need no escaping are quoted by concatenation, and the text
 * of frozen parts is computed once and kept flat.
 */
import type { JsonValue } from './event.js';

/**
 * Canonical text of deeply frozen objects and arrays, computed once: the parts of a record
 * that stay the same for a whole connection (its tuple, listener, network, observer) are
 * frozen where they are built, so each record serializes only what is new in it.
 */
const frozenText = new WeakMap<object, string>();

/**
 * `"key":` for the keys seen so far. Records use a few dozen distinct keys; the cap keeps
 * a stream of arbitrary keys (ingested documents) from growing it without bound.
 */
const keyTexts = new Map<string, string>();
const MAX_KEY_TEXTS = 4096;

/** Set by `encode`: whether the value it just encoded is deeply frozen (safe to cache). */
let stable = true;

export function canonicalJson(value: unknown): string {
  return encode(value);
}

function encode(value: unknown): string {
  if (value === null) {
    stable = true;
    return 'null';
  }
  switch (typeof value) {
    case 'string':
      stable = true;
      return quote(value);
    case 'boolean':
      stable = true;
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JCS: non-finite number');
      stable = true;
      // Number#toString is JSON.stringify's form for every finite number (-0 included).
      return String(value);
    case 'bigint':
      stable = true;
      return value.toString();
    case 'object': {
      const frozen = Object.isFrozen(value);
      if (frozen) {
        const hit = frozenText.get(value);
        if (hit !== undefined) {
          stable = true;
          return hit;
        }
      }
      const out = Array.isArray(value)
        ? encodeArray(value as readonly unknown[], frozen)
        : encodeObject(value as Readonly<Record<string, unknown>>, frozen);
      if (stable) frozenText.set(value, flatten(out));
      return out;
    }
    default:
      throw new TypeError(`JCS: cannot serialize ${typeof value}`);
  }
}

/** Leaves `stable` true only when `frozen` and every item was stable. */
function encodeArray(value: readonly unknown[], frozen: boolean): string {
  let allStable = frozen;
  let out = '[';
  for (let i = 0; i < value.length; i++) {
    if (i > 0) out += ',';
    const item = value[i];
    if (item === undefined) {
      out += 'null';
    } else {
      out += encode(item);
      allStable &&= stable;
    }
  }
  stable = allStable;
  return out + ']';
}

/** Leaves `stable` true only when `frozen` and every member was stable. */
function encodeObject(record: Readonly<Record<string, unknown>>, frozen: boolean): string {
  let allStable = frozen;
  const keys = sortedKeys(record);
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    const v = record[key];
    if (v === undefined) continue;
    // One concatenation per member: each `+=` is a node of the rope hashing flattens.
    out += out.length === 1 ? keyText(key) + encode(v) : ',' + keyText(key) + encode(v);
    allStable &&= stable;
  }
  stable = allStable;
  return out + '}';
}

/** Own enumerable keys in UTF-16 code unit order (what JCS asks for; `<` compares so). */
function sortedKeys(record: object): string[] {
  const keys = Object.keys(record);
  if (keys.length > 24) return keys.sort();
  for (let i = 1; i < keys.length; i++) {
    const key = keys[i] as string;
    let j = i - 1;
    if ((keys[j] as string) <= key) continue;
    do {
      keys[j + 1] = keys[j] as string;
      j--;
    } while (j >= 0 && (keys[j] as string) > key);
    keys[j + 1] = key;
  }
  return keys;
}

function keyText(key: string): string {
  let text = keyTexts.get(key);
  if (text === undefined) {
    text = quote(key) + ':';
    if (keyTexts.size < MAX_KEY_TEXTS) keyTexts.set(key, text);
  }
  return text;
}

/**
 * JSON.stringify of a string. Most strings need no escape (no quote, backslash, control
 * character or surrogate): quoting them by concatenation is a third of the cost. A string
 * with a surrogate goes to JSON.stringify, which escapes lone ones and keeps pairs.
 */
function quote(s: string): string {
  if (s.length > 64) return JSON.stringify(s);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x22 || c === 0x5c || (c >= 0xd800 && c <= 0xdfff))
      return JSON.stringify(s);
  }
  return '"' + s + '"';
}

/**
 * Make V8 flatten a rope (charCodeAt does) so that a cached text is one piece in every
 * record that embeds it: flattening the record's text costs per piece, not per byte.
 */
function flatten(s: string): string {
  s.charCodeAt(0);
  return s;
}

/**
 * The canonical text of a record as one flat string: the leaf hash and the store's insert
 * both need it flat, and flattening once here saves the second walk over the rope.
 */
export function canonicalJsonFlat(value: unknown): string {
  return flatten(encode(value));
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
