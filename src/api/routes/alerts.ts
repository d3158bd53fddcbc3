/** Alerts: records of kind alert (`anomaly-<name>` actions from the detectors), newest first. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { parseFilterQuery } from '../filters.js';
import { recordField, toApiEvent } from '../records.js';

export function alertRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/alerts',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Alerts (event.kind alert), newest first; since/until/listener/limit/after apply',
        tags: ['records'],
        querystring: {
          type: 'object',
          properties: {
            since: { type: 'string' },
            until: { type: 'string' },
            listener: { type: 'string' },
            limit: { type: 'string' },
            after: { type: 'string' },
          },
        },
      },
    },
    (req) => {
      const filter = parseFilterQuery(req.query);
      // Alert actions are whatever detectors named them: find the anomaly-* actions present.
      const actions = ctx.store
        .groupBy({}, 'action')
        .map((g) => g.key)
        .filter((a) => a.startsWith('anomaly-'));
      if (actions.length === 0) return { alerts: [], next: null };
      const page = ctx.store.search({ ...filter, actions });
      return {
        alerts: page.rows
          .map((r) => toApiEvent(r))
          .filter((e) => recordField(e.record, 'event.kind') === 'alert'),
        next: page.next,
      };
    },
  );
}
