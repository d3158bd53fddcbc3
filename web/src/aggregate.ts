/** Folded rows of GET /api/v1/events?aggregate=statement (docs/search.md#aggregation). */
import type { ApiEvent } from './api';

export interface GroupRow {
  readonly kind: 'group';
  readonly position: number;
  readonly group: string;
  readonly fingerprint: string;
  readonly listener: string | null;
  readonly user: string | null;
  readonly action: string;
  readonly text: string | null;
  readonly count: number;
  readonly first: { readonly sequence: number; readonly timestamp: string };
  readonly last: { readonly sequence: number; readonly timestamp: string };
  readonly outcomes: Readonly<Record<string, number>>;
  readonly window: { readonly since: string; readonly until: string };
  readonly sample: ApiEvent;
}

export interface SingleRow {
  readonly kind: 'event';
  readonly position: number;
  readonly event: ApiEvent;
}

export type AggregateRow = GroupRow | SingleRow;

export interface AggregatePage {
  readonly rows: AggregateRow[];
  readonly next: number | null;
  readonly window_ms: number;
  readonly min_repeat: number;
}

/** `1234` → `×1,234`. */
export function times(count: number): string {
  return `×${count.toLocaleString('en-US')}`;
}

/** `60000` → `1m`. */
export function windowText(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  return `${ms / 1000}s`;
}

/** `{success: 2, failure: 1}` → `2 success · 1 failure`. */
export function outcomesText(outcomes: Readonly<Record<string, number>>): string {
  return Object.entries(outcomes)
    .map(([k, n]) => `${n.toLocaleString('en-US')} ${k}`)
    .join(' · ');
}
