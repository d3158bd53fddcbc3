/**
 * Counts for charts: records per interval per listener and outcome (default: connection
 * opens), and denials per interval across every action. Walks the window in keyset pages;
 * a window of more than MAX_ROWS records is cut and says so (`truncated`).
 */
import type { FastifyInstance } from 'fastify';
import { formatTimestampNs } from '../../audit/clock.js';
import { parseDurationMs } from '../../config/index.js';
import { PortwardenError } from '../../errors.js';
import type { EventFilter, EventRow, Store } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { parseFilterQuery, parseTimeParam } from '../filters.js';
import { isDenied } from '../records.js';

const MAX_ROWS = 200_000;
const MAX_BUCKETS = 2000;

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
            since: { type: 'string', description: 'window start (default 1h)' },
            until: { type: 'string', description: 'window end (default now)' },
            interval: {
              type: 'string',
              description: 'bucket width like 1m (default: window / 60)',
            },
            action: { type: 'string', description: 'actions counted (default connection-open)' },
            listener: { type: 'string', description: 'only this listener' },
          },
        },
      },
    },
    (req) => {
      const q = req.query;
      const nowNs = BigInt(Date.now()) * 1_000_000n;
      const untilNs = q.until !== undefined ? parseTimeParam('until', q.until) : nowNs;
      const sinceNs =
        q.since !== undefined ? parseTimeParam('since', q.since) : untilNs - 3_600_000_000_000n;
      if (untilNs <= sinceNs)
        throw new PortwardenError('PW_ERR_QUERY', { detail: 'until must be after since' });
      const spanMs = Number((untilNs - sinceNs) / 1_000_000n);
      let intervalMs = Math.max(1000, Math.ceil(spanMs / 60));
      if (q.interval !== undefined) {
        const ms = parseDurationMs(q.interval);
        if (ms === null || ms < 1000)
          throw new PortwardenError('PW_ERR_QUERY', {
            detail: `interval: expected a duration of 1s or more, got ${JSON.stringify(q.interval)}`,
          });
        intervalMs = ms;
      }
      const count = Math.ceil(spanMs / intervalMs);
      if (count > MAX_BUCKETS)
        throw new PortwardenError('PW_ERR_QUERY', {
          detail: `interval: ${count} buckets is more than ${MAX_BUCKETS}`,
        });
      const base = parseFilterQuery({
        ...(q.listener !== undefined ? { listener: q.listener } : {}),
        action: q.action ?? 'connection-open',
      });
      const intervalNs = BigInt(intervalMs) * 1_000_000n;
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
