/** Reading fields out of a record's canonical JSON body without trusting its shape. */
import type { EventRow } from '../store/index.js';

export type Body = { readonly [key: string]: unknown };

/** The parsed body, or null when it was pruned or is not a JSON object. */
export function bodyOf(row: EventRow): Body | null {
  if (row.body === null) return null;
  try {
    const v: unknown = JSON.parse(row.body);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Body) : null;
  } catch {
    return null;
  }
}

export function valueAt(body: Body | null, ...path: string[]): unknown {
  let v: unknown = body;
  for (const key of path) {
    if (v === null || typeof v !== 'object' || Array.isArray(v)) return undefined;
    v = (v as Body)[key];
  }
  return v;
}

export function stringAt(body: Body | null, ...path: string[]): string | null {
  const v = valueAt(body, ...path);
  return typeof v === 'string' ? v : null;
}

export function numberAt(body: Body | null, ...path: string[]): number | null {
  const v = valueAt(body, ...path);
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}
