/** Wording shared by the schema's messages: "expected …, got …". */

export function unknownKeyMessage(key: string, known: readonly string[]): string {
  return known.length === 0
    ? `unknown key "${key}"`
    : `unknown key "${key}"; expected one of ${known.join(', ')}`;
}

/** A short description of a found value for "got …". */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean')
    return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return `date ${value.toISOString()}`;
  if (typeof value === 'object') return 'a map';
  return typeof value;
}
