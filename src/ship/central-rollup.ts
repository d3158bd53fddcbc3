/**
 * Counts through the hourly rollup (`record_hours`: records per hour, node, listener,
 * action and outcome, kept exact by the collector's insert — central-records.ts). A count
 * or group-by whose filter is only a time window and the rollup's key columns reads the
 * whole hours of its window from the rollup and the partial hours at its edges from
 * `records` (each edge one hour at most, so one partition); any other filter is not
 * answered here (null: the caller counts the records). A month of 10M records is ~720 hours
 * × a few keys instead of 10M rows.
 */
import type pg from 'pg';
import { equality, pgText } from '../store/pg/index.js';
import {
  type CentralFilter,
  Params,
  centralWhere,
  joinWhere,
  timestamptzText,
} from './central-query.js';

const HOUR_NS = 3_600_000_000_000n;

/** Filter fields the rollup answers (the cursor, order and limit do not change a count). */
const ROLLUP_FIELDS: ReadonlySet<string> = new Set([
  'node',
  'listener',
  'actions',
  'outcome',
  'sinceNs',
  'untilNs',
  'order',
  'limit',
  'after',
]);

/** Group keys the rollup holds, as expressions over `record_hours`. */
const ROLLUP_KEYS: Readonly<Record<string, string>> = {
  node: 'node',
  listener: 'listener',
  action: 'action',
  outcome: 'outcome',
  hour: 'to_char(hour AT TIME ZONE \'UTC\', \'YYYY-MM-DD"T"HH24:00:00"Z"\')',
};

export function floorHour(ns: bigint): bigint {
  const r = ns % HOUR_NS;
  return r < 0n ? ns - r - HOUR_NS : ns - r;
}

function ceilHour(ns: bigint): bigint {
  const f = floorHour(ns);
  return f === ns ? ns : f + HOUR_NS;
}

/** Whole hours [from, to) from the rollup (either end open), the edges from `records`. */
export interface RollupPlan {
  readonly from: bigint | undefined;
  readonly to: bigint | undefined;
  /** The filter without its window, cursor, order and limit. */
  readonly keys: CentralFilter;
  /** The partial hours at either end, as record filters. */
  readonly edges: readonly CentralFilter[];
}

/** How the rollup answers `f`, or null when it cannot (another filter, or no whole hour). */
export function rollupPlan(f: CentralFilter): RollupPlan | null {
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined || ROLLUP_FIELDS.has(k) || (k === 'text' && v === '')) continue;
    return null;
  }
  const { after: _a, order: _o, limit: _l, text: _t, sinceNs, untilNs, ...keys } = f;
  const from = sinceNs === undefined ? undefined : ceilHour(sinceNs);
  const to = untilNs === undefined ? undefined : floorHour(untilNs);
  if (from !== undefined && to !== undefined && from >= to) return null;
  const edges: CentralFilter[] = [];
  if (sinceNs !== undefined && from !== undefined && sinceNs < from)
    edges.push({ ...keys, sinceNs, untilNs: from });
  if (untilNs !== undefined && to !== undefined && to < untilNs)
    edges.push({ ...keys, sinceNs: to, untilNs });
  return { from, to, keys, edges };
}

function rollupWhere(plan: RollupPlan, p: Params): string[] {
  const k = plan.keys;
  const w = [
    ...equality('node', k.node, p),
    ...equality('listener', k.listener, p),
    ...equality('outcome', k.outcome, p),
  ];
  if (k.actions !== undefined && k.actions.length > 0)
    w.push(`action = ANY(${p.add([...new Set(k.actions.map(pgText))], 'text[]')})`);
  if (plan.from !== undefined)
    w.push(`hour >= ${p.add(timestamptzText(plan.from), 'timestamptz')}`);
  if (plan.to !== undefined) w.push(`hour < ${p.add(timestamptzText(plan.to), 'timestamptz')}`);
  return w;
}

/** The number of records matching the plan's filter. */
export async function rollupCount(pool: pg.Pool, plan: RollupPlan): Promise<number> {
  const p = new Params();
  const parts = [
    `(SELECT coalesce(sum(n), 0) FROM record_hours ${joinWhere(rollupWhere(plan, p))})`,
    ...plan.edges.map((e) => `(SELECT count(*) FROM records ${joinWhere(centralWhere(e, p))})`),
  ];
  const r = await pool.query<{ n: string }>(`SELECT ${parts.join(' + ')} AS n`, p.values);
  return Number(r.rows[0]?.n ?? 0);
}

/** Whether the rollup holds `key` (a CENTRAL_GROUP_KEYS name). */
export function rollupHasKey(key: string): boolean {
  return Object.hasOwn(ROLLUP_KEYS, key);
}

/**
 * Counts per value of `key` (`recordKey` its expression over `records`), the most first;
 * a missing value is null.
 */
export async function rollupGroupBy(
  pool: pg.Pool,
  plan: RollupPlan,
  key: string,
  recordKey: string,
  limit: number,
): Promise<{ k: string | null; n: string }[]> {
  const rollupKey = ROLLUP_KEYS[key];
  if (rollupKey === undefined) throw new Error(`the rollup has no key ${key}`);
  const p = new Params();
  const parts = [
    `SELECT ${rollupKey} AS k, sum(n) AS n FROM record_hours ${joinWhere(rollupWhere(plan, p))} GROUP BY 1`,
    ...plan.edges.map(
      (e) =>
        `SELECT ${recordKey} AS k, count(*) AS n FROM records ${joinWhere(centralWhere(e, p))} GROUP BY 1`,
    ),
  ];
  const r = await pool.query<{ k: string | null; n: string }>(
    `SELECT k, sum(n) AS n FROM (${parts.join(' UNION ALL ')}) g
     GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT ${p.add(limit)}`,
    p.values,
  );
  return r.rows;
}
