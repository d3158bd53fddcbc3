/**
 * The aggregation parameters of GET /api/v1/events (`aggregate`, `window`, `min_repeat`,
 * `group`) on top of the shared filter, the config defaults they override, and the shape
 * function for the gateway's listeners.
 */
import { parseDurationMs } from '../config/index.js';
import type { Config } from '../config/index.js';
import { PortwardenError } from '../errors.js';
import type { EventRow } from '../store/index.js';
import { MAX_MIN_REPEAT, MAX_WINDOW_MS, MIN_WINDOW_MS } from './aggregate-config.js';
import { type AggregateSettings, type ParsedGroup, type ShapeOf, parseGroup } from './aggregate.js';
import { dialectOf, statementShape } from './statement-shape.js';

export const AGGREGATE_PARAMS = {
  aggregate:
    '`statement`: fold repeats of the same statement (listener, user, action, text with literals as ?) inside one window into rows with counts; answers {rows, next}',
  window: 'fold window, 1s-1d, aligned to the clock (default dashboard.aggregate.window)',
  min_repeat: 'fold from this many repeats on (default dashboard.aggregate.min_repeat)',
  group: 'the records of one folded row (its `group`), keyset-paged like a search',
} as const;

export type AggregateRequest =
  | { readonly mode: 'plain' }
  | { readonly mode: 'aggregate'; readonly settings: AggregateSettings }
  | { readonly mode: 'members'; readonly group: ParsedGroup; readonly maxScan: number };

function bad(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_QUERY', { detail });
}

function one(query: Readonly<Record<string, unknown>>, key: string): string | undefined {
  const v = query[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw bad(`${key}: give it once`);
  return v;
}

/** Which kind of answer the query asks for; bad values are PW_ERR_QUERY (400). */
export function parseAggregateQuery(
  query: Readonly<Record<string, unknown>>,
  config: Config['dashboard']['aggregate'],
): AggregateRequest {
  const aggregate = one(query, 'aggregate');
  const window = one(query, 'window');
  const minRepeat = one(query, 'min_repeat');
  const group = one(query, 'group');
  if (aggregate === undefined && group === undefined) {
    if (window !== undefined) throw bad('window: only with aggregate=statement');
    if (minRepeat !== undefined) throw bad('min_repeat: only with aggregate=statement');
    return { mode: 'plain' };
  }
  if (!config.enabled)
    throw bad('aggregation is turned off on this gateway (dashboard.aggregate.enabled)');
  if (group !== undefined) {
    if (aggregate !== undefined || window !== undefined || minRepeat !== undefined)
      throw bad('group: give it alone (the group names its window)');
    const parsed = parseGroup(group);
    if (parsed === null) throw bad(`group: not a group id: ${JSON.stringify(group)}`);
    return { mode: 'members', group: parsed, maxScan: config.max_scan };
  }
  if (aggregate !== 'statement')
    throw bad(`aggregate: expected statement, got ${JSON.stringify(aggregate)}`);
  let windowMs = config.window;
  if (window !== undefined) {
    const ms = /^\d+(ms|s|m|h|d)$/.test(window) ? parseDurationMs(window) : null;
    if (ms === null || ms < MIN_WINDOW_MS || ms > MAX_WINDOW_MS)
      throw bad(`window: expected 1s to 1d like 1m, got ${JSON.stringify(window)}`);
    windowMs = ms;
  }
  let repeat = config.min_repeat;
  if (minRepeat !== undefined) {
    const n = /^\d{1,9}$/.test(minRepeat) ? Number(minRepeat) : NaN;
    if (!(n >= 1 && n <= MAX_MIN_REPEAT))
      throw bad(`min_repeat: expected 1-${MAX_MIN_REPEAT}, got ${JSON.stringify(minRepeat)}`);
    repeat = n;
  }
  return {
    mode: 'aggregate',
    settings: { windowMs, minRepeat: repeat, maxScan: config.max_scan },
  };
}

/** The shape of a row's text, read in the dialect of its listener's protocol. */
export function shapeForListeners(
  listeners: readonly { readonly name: string; readonly protocol: string }[],
): ShapeOf {
  const protocols = new Map(listeners.map((l) => [l.name, l.protocol]));
  return (row: EventRow) =>
    row.text === null
      ? null
      : statementShape(row.text, dialectOf(protocols.get(row.listener ?? '')));
}
