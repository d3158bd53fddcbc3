/**
 * Folding repeats of the same statement into one row (docs/search.md#aggregation), over the
 * shared filter model and keyset pages, without sampling: every matching record is read and
 * counted. Two records repeat each other when they have the same listener, user, action
 * and statement shape (statement-shape.ts) and fall in the same clock-aligned window.
 *
 * A page is a list of rows in scan order, each at a *position*: a folded group sits at its
 * first record in scan order, a single record at its own sequence. `next` is the position of
 * the last row, or, when a page ends with a whole window, the last record read in it. A
 * window can only be counted once it was read to its end, so a page that resumes inside a
 * window reads that window again from its start and leaves out the rows it already gave.
 */
import { createHash } from 'node:crypto';
import { formatTimestampNs } from '../audit/clock.js';
import { PortwardenError } from '../errors.js';
import type { EventFilter, EventRow, Store } from '../store/index.js';
import { type ApiEvent, toApiEvent } from './records.js';

export interface AggregateSettings {
  readonly windowMs: number;
  readonly minRepeat: number;
  /** Most records one request reads. */
  readonly maxScan: number;
}

/** Repeats folded into one row. */
export interface GroupRow {
  readonly kind: 'group';
  readonly position: number;
  /** Names the group for `GET /events?group=…` (its records): window, index, fingerprint. */
  readonly group: string;
  /** SHA-256 (first 32 hex digits) of listener, user, action and shape. */
  readonly fingerprint: string;
  readonly listener: string | null;
  readonly user: string | null;
  readonly action: string;
  /** The statement shape: literals as `?` (cut at 4096 characters). */
  readonly text: string | null;
  readonly count: number;
  readonly first: { readonly sequence: number; readonly timestamp: string };
  readonly last: { readonly sequence: number; readonly timestamp: string };
  /** Records per `event.outcome` (`none` when a record has none). */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly window: { readonly since: string; readonly until: string };
  /** The group's record at its position (the first one met in scan order). */
  readonly sample: ApiEvent;
}

/** A record that did not repeat `minRepeat` times in its window. */
export interface SingleRow {
  readonly kind: 'event';
  readonly position: number;
  readonly event: ApiEvent;
}

export type AggregateRow = GroupRow | SingleRow;

export interface AggregatePage {
  readonly rows: readonly AggregateRow[];
  readonly next: number | null;
}

/** The shape of one record's text; null when it has none. */
export type ShapeOf = (row: EventRow) => string | null;

const CHUNK = 2000;
const SHAPE_DISPLAY_MAX = 4096;
const MS = 1_000_000n;

function tooLarge(settings: AggregateSettings): PortwardenError {
  return new PortwardenError('PW_ERR_QUERY', {
    detail: `one ${settings.windowMs / 1000}s window holds more than ${settings.maxScan} matching records; narrow the filter or shorten window (dashboard.aggregate.max_scan)`,
  });
}

/** Matching rows in scan order from `after` (exclusive), read in keyset chunks. */
function* scan(store: Store, filter: EventFilter, after: number | undefined): Generator<EventRow> {
  let cursor = after;
  for (;;) {
    const page = store.search({
      ...filter,
      limit: CHUNK,
      ...(cursor !== undefined ? { after: cursor } : {}),
    });
    yield* page.rows;
    if (page.next === null) return;
    cursor = page.next;
  }
}

interface GroupState {
  readonly fingerprint: string;
  readonly anchor: EventRow;
  readonly shape: string | null;
  count: number;
  minSeq: EventRow;
  maxSeq: EventRow;
  readonly outcomes: Record<string, number>;
  /** Kept while the group is below minRepeat (it may become single rows). */
  members: EventRow[];
}

/** One clock-aligned window being read. */
class Bucket {
  readonly index: bigint;
  readonly groups = new Map<string, GroupState>();
  lastRead = -1;

  constructor(index: bigint) {
    this.index = index;
  }

  add(row: EventRow, shape: string | null, minRepeat: number): void {
    this.lastRead = row.sequence;
    const fingerprint = fingerprintOf(row, shape);
    let g = this.groups.get(fingerprint);
    if (g === undefined) {
      g = {
        fingerprint,
        anchor: row,
        shape,
        count: 0,
        minSeq: row,
        maxSeq: row,
        outcomes: {},
        members: [],
      };
      this.groups.set(fingerprint, g);
    }
    g.count += 1;
    if (row.sequence < g.minSeq.sequence) g.minSeq = row;
    if (row.sequence > g.maxSeq.sequence) g.maxSeq = row;
    const outcome = row.outcome ?? 'none';
    g.outcomes[outcome] = (g.outcomes[outcome] ?? 0) + 1;
    if (g.count < minRepeat) g.members.push(row);
    else g.members = [];
  }

  rows(settings: AggregateSettings): AggregateRow[] {
    const windowNs = BigInt(settings.windowMs) * MS;
    const out: AggregateRow[] = [];
    for (const g of this.groups.values()) {
      if (g.count < settings.minRepeat) {
        for (const m of g.members)
          out.push({ kind: 'event', position: m.sequence, event: toApiEvent(m) });
        continue;
      }
      const text =
        g.shape === null || g.shape.length <= SHAPE_DISPLAY_MAX
          ? g.shape
          : `${g.shape.slice(0, SHAPE_DISPLAY_MAX)}…`;
      out.push({
        kind: 'group',
        position: g.anchor.sequence,
        group: `${settings.windowMs}.${this.index}.${g.fingerprint}`,
        fingerprint: g.fingerprint,
        listener: g.anchor.listener,
        user: g.anchor.user,
        action: g.anchor.action,
        text,
        count: g.count,
        first: {
          sequence: g.minSeq.sequence,
          timestamp: formatTimestampNs(g.minSeq.timestampNs),
        },
        last: { sequence: g.maxSeq.sequence, timestamp: formatTimestampNs(g.maxSeq.timestampNs) },
        outcomes: g.outcomes,
        window: {
          since: formatTimestampNs(this.index * windowNs),
          until: formatTimestampNs((this.index + 1n) * windowNs),
        },
        sample: toApiEvent(g.anchor),
      });
    }
    return out;
  }
}

export function fingerprintOf(row: EventRow, shape: string | null): string {
  return createHash('sha256')
    .update(JSON.stringify([row.listener, row.user, row.action, shape]))
    .digest('hex')
    .slice(0, 32);
}

/** One page of folded rows for `filter` (its `after` is the aggregate cursor). */
export function aggregatePage(
  store: Store,
  filter: EventFilter,
  settings: AggregateSettings,
  shapeOf: ShapeOf,
): AggregatePage {
  const { after: cursor, limit: wanted, ...rest } = filter;
  const limit = wanted ?? 100;
  const newest = (filter.order ?? 'newest') === 'newest';
  const windowNs = BigInt(settings.windowMs) * MS;
  const bucketOf = (ns: bigint): bigint => ns / windowNs;
  /** True when position `p` comes after position `q` in scan order. */
  const beyond = (p: number, q: number): boolean => (newest ? p < q : p > q);
  const byPosition = (a: AggregateRow, b: AggregateRow): number =>
    newest ? b.position - a.position : a.position - b.position;

  let base: EventFilter = rest;
  let start: number | undefined;
  if (cursor !== undefined) {
    const peek = store.search({ ...rest, after: cursor, limit: 1 }).rows[0];
    if (peek === undefined) return { rows: [], next: null };
    const at = store.getBySequence(cursor);
    if (at !== undefined && bucketOf(at.timestampNs) === bucketOf(peek.timestampNs)) {
      // The cursor is inside a window: read the window again from its start.
      const b = bucketOf(at.timestampNs);
      base = newest
        ? { ...rest, untilNs: minBig(rest.untilNs, (b + 1n) * windowNs) }
        : { ...rest, sinceNs: maxBig(rest.sinceNs, b * windowNs) };
    } else start = cursor;
  }

  const out: AggregateRow[] = [];
  let current: Bucket | null = null;
  /** Last record read in the last window closed (a cursor that needs no re-read). */
  let closedAt: number | null = null;
  let scanned = 0;
  let stop: 'end' | 'full' | 'cap' = 'end';
  const shapes = new Map<string, string>();
  const shape = (row: EventRow): string | null => {
    if (row.text === null) return null;
    const key = `${row.listener ?? ''}\u0000${row.text}`;
    let s = shapes.get(key);
    if (s === undefined) {
      s = shapeOf(row) ?? '';
      if (shapes.size >= 10_000) shapes.clear();
      shapes.set(key, s);
    }
    return s;
  };
  const close = (bucket: Bucket): void => {
    const rows = bucket.rows(settings).sort(byPosition);
    for (const r of rows) if (cursor === undefined || beyond(r.position, cursor)) out.push(r);
    closedAt = bucket.lastRead;
  };

  for (const row of scan(store, base, start)) {
    const b = bucketOf(row.timestampNs);
    if (current !== null && b !== current.index) {
      close(current);
      current = null;
      if (out.length >= limit) {
        stop = 'full';
        break;
      }
    }
    if (scanned >= settings.maxScan) {
      stop = 'cap';
      break;
    }
    scanned += 1;
    current ??= new Bucket(b);
    current.add(row, shape(row), settings.minRepeat);
  }
  if (stop === 'end' && current !== null) close(current);
  if (stop === 'cap' && out.length === 0) throw tooLarge(settings);

  if (out.length > limit) {
    out.length = limit;
    return { rows: out, next: out[limit - 1]?.position ?? null };
  }
  if (stop === 'end') return { rows: out, next: null };
  return { rows: out, next: closedAt };
}

/**
 * The records of one group (`group` from a GroupRow), keyset-paged like a search; `after`
 * and `next` are sequences of the scan, which reads only the group's window.
 */
export function groupMembers(
  store: Store,
  filter: EventFilter,
  group: ParsedGroup,
  maxScan: number,
  shapeOf: ShapeOf,
): { rows: EventRow[]; next: number | null } {
  const { after, limit: wanted, ...rest } = filter;
  const limit = wanted ?? 100;
  const windowNs = BigInt(group.windowMs) * MS;
  const base: EventFilter = {
    ...rest,
    sinceNs: maxBig(rest.sinceNs, group.index * windowNs),
    untilNs: minBig(rest.untilNs, (group.index + 1n) * windowNs),
  };
  if (base.sinceNs !== undefined && base.untilNs !== undefined && base.untilNs <= base.sinceNs)
    return { rows: [], next: null };
  const rows: EventRow[] = [];
  let scanned = 0;
  let last: number | null = null;
  for (const row of scan(store, base, after)) {
    if (rows.length >= limit) return { rows, next: last };
    if (scanned >= maxScan) return { rows, next: last };
    scanned += 1;
    last = row.sequence;
    if (fingerprintOf(row, shapeOf(row)) === group.fingerprint) rows.push(row);
  }
  return { rows, next: null };
}

export interface ParsedGroup {
  readonly windowMs: number;
  readonly index: bigint;
  readonly fingerprint: string;
}

/** `windowMs.index.fingerprint` as GroupRow.group writes it, or null. */
export function parseGroup(text: string): ParsedGroup | null {
  const m = /^(\d{1,9})\.(\d{1,20})\.([0-9a-f]{32})$/.exec(text);
  if (!m) return null;
  const windowMs = Number(m[1]);
  if (windowMs <= 0) return null;
  return { windowMs, index: BigInt(m[2] ?? '0'), fingerprint: m[3] ?? '' };
}

function minBig(a: bigint | undefined, b: bigint): bigint {
  return a === undefined || b < a ? b : a;
}

function maxBig(a: bigint | undefined, b: bigint): bigint {
  return a === undefined || b > a ? b : a;
}
