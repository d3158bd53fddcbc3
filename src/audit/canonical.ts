/**
 * RFC 8785 (JCS) canonical JSON: object keys sorted by UTF-16 code units, no insignificant
 * whitespace, strings escaped as ECMAScript JSON.stringify does, numbers in ECMAScript's
 * shortest form (which JSON.stringify produces for finite numbers). The `canonicalize`
 * package implements the same algorithm but requires Node 22; test/unit/audit/canonical
 * proves byte equality on the RFC's examples.
 */
import type { JsonValue } from './event.js';

/**
 * Canonical text of deeply frozen objects and arrays, computed once: the parts of a record
 * that stay the same for a whole connection (its tuple, listener, network, observer) are
 * frozen where they are built, so each record serializes only what is new in it.
 */
const frozenText = new WeakMap<object, string>();

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
      return JSON.stringify(value);
    case 'boolean':
      stable = true;
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JCS: non-finite number');
      stable = true;
      return JSON.stringify(value);
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
      let allStable = frozen;
      let out: string;
      if (Array.isArray(value)) {
        out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const item: unknown = value[i];
          out += item === undefined ? 'null' : encode(item);
          allStable &&= stable;
        }
        out += ']';
      } else {
        const record = value as Record<string, unknown>;
        // Default sort compares UTF-16 code units, which is what JCS asks for.
        const keys = Object.keys(record).sort();
        out = '{';
        let first = true;
        for (const key of keys) {
          const v = record[key];
          if (v === undefined) continue;
          if (!first) out += ',';
          first = false;
          out += JSON.stringify(key) + ':' + encode(v);
          allStable &&= stable;
        }
        out += '}';
      }
      if (allStable) frozenText.set(value, out);
      stable = allStable;
      return out;
    }
    default:
      throw new TypeError(`JCS: cannot serialize ${typeof value}`);
  }
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
