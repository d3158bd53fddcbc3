/**
 * RFC 8785 (JCS) canonical JSON: object keys sorted by UTF-16 code units, no insignificant
 * whitespace, strings escaped as ECMAScript JSON.stringify does, numbers in ECMAScript's
 * shortest form (which JSON.stringify produces for finite numbers). The `canonicalize`
 * package implements the same algorithm but requires Node 22; test/unit/audit/canonical
 * proves byte equality on the RFC's examples.
 */
import type { JsonValue } from './event.js';

export function canonicalJson(value: unknown): string {
  if (value === null) return 'null';
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JCS: non-finite number');
      return JSON.stringify(value);
    case 'bigint':
      return value.toString();
    case 'object': {
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          const item: unknown = value[i];
          out += item === undefined ? 'null' : canonicalJson(item);
        }
        return out + ']';
      }
      const record = value as Record<string, unknown>;
      // Default sort compares UTF-16 code units, which is what JCS asks for.
      const keys = Object.keys(record).sort();
      let out = '{';
      let first = true;
      for (const key of keys) {
        const v = record[key];
        if (v === undefined) continue;
        if (!first) out += ',';
        first = false;
        out += JSON.stringify(key) + ':' + canonicalJson(v);
      }
      return out + '}';
    }
    default:
      throw new TypeError(`JCS: cannot serialize ${typeof value}`);
  }
}

export function parseJsonObject(text: string): Record<string, JsonValue> {
  const value = JSON.parse(text) as unknown;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new TypeError('expected a JSON object');
  }
  return value as Record<string, JsonValue>;
}
