/**
 * Central counts: records per interval per listener and outcome with denials (the
 * dashboard's chart), a summary of a window across nodes, and counts grouped by one key.
 * Counting is done by PostgreSQL (GROUP BY); only denials read record bodies (at most
 * MAX_DENIAL_ROWS failures per window, then `truncated`).
 */
import type { FastifyInstance } from 'fastify';
import { formatTimestampNs } from '../../audit/clock.js';
import { PortwardenError } from '../../errors.js';
import { CENTRAL_GROUP_KEYS, type CentralFilter, type CentralGroupKey } from '../../ship/index.js';
import { isDenied } from '../records.js';
import { STATS_QUERY_PROPERTIES, parseStatsWindow } from '../stats-window.js';
import { centralFilterSchema, parseCentralQuery } from './filters.js';
import type { CentralApiContext } from './source.js';

const MAX_DENIAL_ROWS = 200_000;
const DECISION_ACTIONS = ['connection-open', 'db-query', 'redis-command', 'http-request'];

function bad(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_QUERY', { detail });
}

export function centralStatsRoutes(app: FastifyInstance, ctx: CentralApiContext): void {
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
            node: { type: 'string', description: 'only this node' },
          },
        },
      },
    },
    async (req) => {
      const q = req.query;
      const { sinceNs, untilNs, intervalMs, intervalNs, count } = parseStatsWindow(q);
      const { limit: _l, ...base } = parseCentralQuery({
        ...(q.listener !== undefined ? { listener: q.listener } : {}),
        ...(q.node !== undefined ? { node: q.node } : {}),
        action: q.action ?? 'connection-open',
      });
      const window = { sinceNs, untilNs };
      const series = new Map<string, { listener: string; outcome: string; counts: number[] }>();
      for (const b of await ctx.source.buckets({ ...base, ...window }, sinceNs, intervalNs)) {
        const listener = b.listener ?? '-';
        const outcome = b.outcome ?? 'unknown';
        const key = `${listener}\u0000${outcome}`;
        let s = series.get(key);
        if (!s) {
          s = { listener, outcome, counts: new Array<number>(count).fill(0) };
          series.set(key, s);
        }
        if (b.bucket >= 0 && b.bucket < count)
          s.counts[b.bucket] = (s.counts[b.bucket] ?? 0) + b.count;
      }
      const denials = new Array<number>(count).fill(0);
      const failures: CentralFilter = {
        ...(base.listener !== undefined ? { listener: base.listener } : {}),
        ...(base.node !== undefined ? { node: base.node } : {}),
        outcome: 'failure',
        ...window,
        order: 'oldest',
        limit: 5000,
      };
      let seen = 0;
      let after: string | undefined;
      let truncated = false;
      for (;;) {
        const page = await ctx.source.search({ ...failures, ...(after ? { after } : {}) });
        for (const r of page.rows) {
          if (r.body === null || !isDenied(JSON.parse(r.body) as Parameters<typeof isDenied>[0]))
            continue;
          const b = Number((r.timestampNs - sinceNs) / intervalNs);
          denials[b] = (denials[b] ?? 0) + 1;
        }
        seen += page.rows.length;
        if (page.next === null) break;
        if (seen >= MAX_DENIAL_ROWS) {
          truncated = true;
          break;
        }
        after = page.next;
      }
      const buckets: string[] = [];
      for (let i = 0; i < count; i++)
        buckets.push(formatTimestampNs(sinceNs + BigInt(i) * intervalNs));
      return {
        since: formatTimestampNs(sinceNs),
        until: formatTimestampNs(untilNs),
        interval_ms: intervalMs,
        actions: base.actions ?? [],
        buckets,
        series: [...series.values()],
        denials,
        truncated,
      };
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/groups',
    {
      config: { role: 'viewer' },
      schema: {
        summary: `Matching records counted per key (by: ${Object.keys(CENTRAL_GROUP_KEYS).join(', ')}), the most first, at most 1000`,
        tags: ['records'],
        querystring: {
          type: 'object',
          properties: {
            ...centralFilterSchema.properties,
            by: { type: 'string', description: 'the key to count by' },
          },
          required: ['by'],
        },
      },
    },
    async (req) => {
      const by = req.query.by ?? '';
      if (!(by in CENTRAL_GROUP_KEYS))
        throw bad(`by: expected one of ${Object.keys(CENTRAL_GROUP_KEYS).join(', ')}`);
      const filter = parseCentralQuery(req.query, ['by']);
      return { by, groups: await ctx.source.groupBy(filter, by as CentralGroupKey, 1000) };
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/summary',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'A window at a glance across nodes: records per node, top sources, users and listeners, refusals',
        tags: ['records'],
        querystring: centralFilterSchema,
      },
    },
    async (req) => {
      const { limit: _l, after: _a, ...f } = parseCentralQuery(req.query);
      const top = 10;
      const actions =
        f.actions === undefined
          ? DECISION_ACTIONS
          : f.actions.filter((a) => DECISION_ACTIONS.includes(a));
      const denied: CentralFilter = { ...f, outcome: 'failure', actions };
      const none = actions.length === 0;
      return {
        total: await ctx.source.count(f),
        by_node: await ctx.source.groupBy(f, 'node', 1000),
        top_sources: await ctx.source.groupBy(f, 'source', top),
        top_users: await ctx.source.groupBy(f, 'user', top),
        top_listeners: await ctx.source.groupBy(f, 'listener', top),
        denied: {
          total: none ? 0 : await ctx.source.count(denied),
          by_action: none ? [] : await ctx.source.groupBy(denied, 'action', 100),
          by_node: none ? [] : await ctx.source.groupBy(denied, 'node', 1000),
          by_source: none ? [] : await ctx.source.groupBy(denied, 'source', top),
          by_rule: none ? [] : await ctx.source.groupBy(denied, 'rule', top),
        },
      };
    },
  );
}
