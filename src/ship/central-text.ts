/**
 * A page of a text search over the central store, read a few day partitions at a time.
 *
 * At 10M records a text page with another filter (`--text "refunds where id" --listener
 * billing-db`) cost ~200 ms: the text clause `tsv @@ q OR (tsv IS NULL AND words IS NOT
 * NULL)` is estimated to match a quarter of the rows (its second branch, which matches the
 * rare rows whose words are too long for a tsvector, is estimated from two independent
 * null fractions), so the planner walked the listener's rows newest first and filtered
 * ~150,000 of them. Here the two branches are separate subqueries — the tsvector one is
 * estimated from the lexeme statistics and read through the GIN index, the other through
 * the (almost empty) partial index of untokenized rows — and the window is read newest
 * day first in chunks of 1, 2, 4, … days, each a query whose `ts` bounds are constants (the
 * planner plans those partitions only), until the page is full.
 *
 * The cost moves to common texts: the lexeme statistics underestimate words that always
 * come together (`order_items`: 1,239 estimated, 14,849 found in a day), so their page
 * sorts a day's matches (~50 ms at 10M, was ~8). Walking each chunk in page order for
 * a budget of rows first and taking the GIN index only when the budget ran out made common
 * texts fast again but rare ones ~60 ms and `audit_trail where --listener reports-db`
 * ~120 ms (that walk cost ~8 µs a row), so it was not kept.
 *
 * The meaning is the text clause's (src/store/pg/query.ts `textBranches`): a query without
 * words (a plain substring) has no branches, and the caller runs its single query instead
 * (null).
 */
import type pg from 'pg';
import { textBranches } from '../store/pg/index.js';
import {
  type CentralFilter,
  type FlowConns,
  Params,
  centralWhere,
  decodeCursor,
  joinWhere,
  orderBy,
  timestamptzText,
} from './central-query.js';
import { COLUMNS, type RawRecord } from './central-records.js';

const DAY_NS = 86_400_000_000_000n;
const PARTITION = /^records_p(\d{4})(\d{2})(\d{2})$/;

/** The first ns of each day partition of `records`, ascending (null if one is named otherwise). */
async function partitionDays(pool: pg.Pool): Promise<bigint[] | null> {
  const r = await pool.query<{ name: string }>(
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'records'::regclass`,
  );
  const days: bigint[] = [];
  for (const { name } of r.rows) {
    const m = PARTITION.exec(name);
    if (m === null) return null;
    days.push(BigInt(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]))) * 1_000_000n);
  }
  return days.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/**
 * Up to `want` rows of `filter` (which has text) in page order, or null when the text has
 * no words to split on.
 */
export async function textPageRows(
  pool: pg.Pool,
  filter: CentralFilter,
  flow: readonly FlowConns[] | undefined,
  want: number,
): Promise<RawRecord[] | null> {
  const { text, ...rest } = filter;
  if (text === undefined || text === '') return null;
  if (textBranches(text, new Params()) === null) return null;
  const days = await partitionDays(pool);
  if (days === null) return null;

  // The window the filter allows (conservative: the exact bounds are in the where clause).
  const newest = filter.order !== 'oldest';
  let lo = filter.sinceNs;
  let hi = filter.untilNs;
  if (filter.after !== undefined) {
    const c = decodeCursor(filter.after).tsNs;
    if (newest) hi = hi === undefined || c < hi ? c : hi;
    else lo = lo === undefined || c > lo ? c : lo;
  }
  const inWindow = days.filter(
    (d) => (lo === undefined || d + DAY_NS > lo) && (hi === undefined || d <= hi),
  );
  if (!newest) inWindow.reverse();
  // `inWindow` runs from the far end to the page's start: take chunks from its end.
  const out: RawRecord[] = [];
  let end = inWindow.length;
  for (let size = 1; end > 0 && out.length < want; size *= 2) {
    const chunk = inWindow.slice(Math.max(0, end - size), end);
    end -= chunk.length;
    const first = chunk.reduce((a, b) => (b < a ? b : a));
    const last = chunk.reduce((a, b) => (b > a ? b : a));
    const p = new Params();
    const where = centralWhere(rest, p, flow);
    const b = textBranches(text, p);
    if (b === null) return null;
    where.push(
      `ts >= ${p.add(timestamptzText(first), 'timestamptz')}`,
      `ts < ${p.add(timestamptzText(last + DAY_NS), 'timestamptz')}`,
    );
    const order = orderBy(filter.order);
    const n = p.add(want - out.length);
    const branch = (clause: string): string =>
      `(SELECT ${COLUMNS}, ts FROM records ${joinWhere([...where, clause])} ${order} LIMIT ${n})`;
    const r = await pool.query<RawRecord>(
      `SELECT ${COLUMNS} FROM (${branch(`${b.tokenized} AND ${b.adjacent}`)}
         UNION ALL ${branch(`${b.untokenized} AND ${b.adjacent}`)}) u
       ${order} LIMIT ${n}`,
      p.values,
    );
    out.push(...r.rows);
  }
  return out;
}
