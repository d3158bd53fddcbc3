/**
 * Counts for charts: records per interval per listener and outcome (default: connection
 * opens), and denials per interval across every action. Walks the window in keyset pages;
 * a window of more than MAX_ROWS records is cut and says so (`truncated`).
 */
import type { FastifyInstance } from 'fastify';
import { formatTimestampNs } from '../../audit/clock.js';
import type { EventFilter, EventRow, Store } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { parseFilterQuery } from '../filters.js';
import { isDenied } from '../records.js';
import { STATS_QUERY_PROPERTIES, parseStatsWindow } from '../stats-window.js';

const MAX_ROWS = 200_000;

function eachRow(store: Store, filter: EventFilter, fn: (r: EventRow) => void): boolean {
  let after: number | undefined;
  let seen = 0;
  for (;;) {
    const page = store.search({
      ...filter,
      order: 'oldest',
      limit: 5000,
      ...(after !== undefined ? { after } : {}),
    });
    for (const r of page.rows) fn(r);
    seen += page.rows.length;
    if (page.next === null) return false;
    if (seen >= MAX_ROWS) return true;
    after = page.next;
  }
}

export function statsRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/stats',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Counts per interval per listener and outcome, and denials per interval',
        tags: ['records'],
        querystring: {
          type: 'object',
          properties: {
            ...STATS_QUERY_PROPERTIES,
          },
        },
      },
    },
    (req) => {
      const q = req.query;
      const { sinceNs, untilNs, intervalMs, intervalNs, count } = parseStatsWindow(q);
      const base = parseFilterQuery({
        ...(q.listener !== undefined ? { listener: q.listener } : {}),
        action: q.action ?? 'connection-open',
      });
      const bucketOf = (r: EventRow): number => Number((r.timestampNs - sinceNs) / intervalNs);
      const series = new Map<string, { listener: string; outcome: string; counts: number[] }>();
      const window = { sinceNs, untilNs };
      const { limit: _l, ...filter } = base;
      let truncated = eachRow(ctx.store, { ...filter, ...window }, (r) => {
        const listener = r.listener ?? '-';
        const outcome = r.outcome ?? 'unknown';
        const key = `${listener}\u0000${outcome}`;
        let s = series.get(key);
        if (!s) {
          s = { listener, outcome, counts: new Array<number>(count).fill(0) };
          series.set(key, s);
        }
        const b = bucketOf(r);
        s.counts[b] = (s.counts[b] ?? 0) + 1;
      });
      const denials = new Array<number>(count).fill(0);
      truncated =
        eachRow(
          ctx.store,
          {
            ...(filter.listener !== undefined ? { listener: filter.listener } : {}),
            outcome: 'failure',
            ...window,
          },
          (r) => {
            if (r.body === null || !isDenied(JSON.parse(r.body) as Parameters<typeof isDenied>[0]))
              return;
            const b = bucketOf(r);
            denials[b] = (denials[b] ?? 0) + 1;
          },
        ) || truncated;
      const buckets: string[] = [];
      for (let i = 0; i < count; i++)
        buckets.push(formatTimestampNs(sinceNs + BigInt(i) * intervalNs));
      return {
        since: formatTimestampNs(sinceNs),
        until: formatTimestampNs(untilNs),
        interval_ms: intervalMs,
        actions: filter.actions ?? [],
        buckets,
        series: [...series.values()],
        denials,
        truncated,
      };
    },
  );
}
