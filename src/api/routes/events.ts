/** Records: search (keyset pages), one event, its inclusion proof, NDJSON export, live tail. */
import type { FastifyInstance } from 'fastify';
import { PortwardenError } from '../../errors.js';
import type { EventRow } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { filterQuerySchema, parseFilterQuery } from '../filters.js';
import { toApiEvent } from '../records.js';
import { aggregatePage, groupMembers } from '../aggregate.js';
import { AGGREGATE_PARAMS, parseAggregateQuery, shapeForListeners } from '../aggregate-query.js';
import { recordRequest } from '../request-record.js';
import { streamLive } from '../sse.js';

const refParams = {
  type: 'object',
  properties: { ref: { type: 'string', description: 'event.id or event.sequence' } },
  required: ['ref'],
} as const;

/** The filter parameters plus the aggregation ones (documentation; values checked in code). */
const eventsQuerySchema = {
  type: 'object',
  properties: {
    ...filterQuerySchema.properties,
    ...Object.fromEntries(
      Object.entries(AGGREGATE_PARAMS).map(([k, description]) => [
        k,
        { type: 'string', description },
      ]),
    ),
  },
} as const;

export function findEvent(ctx: ApiContext, ref: string): EventRow {
  const row = /^\d{1,16}$/.test(ref)
    ? ctx.store.getBySequence(Number(ref))
    : ctx.store.getById(ref);
  if (!row) throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `event ${ref}` });
  return row;
}

export function eventRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Search records (the shared filter model); keyset pages through `next`. With aggregate=statement: repeats folded into rows with exact counts',
        tags: ['records'],
        querystring: eventsQuerySchema,
      },
    },
    (req) => {
      const filter = parseFilterQuery(req.query, Object.keys(AGGREGATE_PARAMS));
      const { config } = ctx.gateway.loaded;
      const wanted = parseAggregateQuery(req.query, config.dashboard.aggregate);
      if (wanted.mode === 'plain') {
        const page = ctx.store.search(filter);
        return { events: page.rows.map((r) => toApiEvent(r)), next: page.next };
      }
      const shapeOf = shapeForListeners(config.listeners);
      if (wanted.mode === 'members') {
        const page = groupMembers(ctx.store, filter, wanted.group, wanted.maxScan, shapeOf);
        return { events: page.rows.map((r) => toApiEvent(r)), next: page.next };
      }
      const page = aggregatePage(ctx.store, filter, wanted.settings, shapeOf);
      return {
        rows: page.rows,
        next: page.next,
        window_ms: wanted.settings.windowMs,
        min_repeat: wanted.settings.minRepeat,
      };
    },
  );

  app.get<{ Params: { ref: string } }>(
    '/api/v1/events/:ref',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One record by id or sequence, with its canonical JSON as hashed',
        tags: ['records'],
        params: refParams,
      },
    },
    (req) => {
      const row = findEvent(ctx, req.params.ref);
      const outcome =
        row.action.endsWith('-query') ||
        row.action.endsWith('-command') ||
        row.action === 'http-request'
          ? (ctx.store
              .search({
                connectionId: row.connectionId ?? '',
                order: 'oldest',
                after: row.sequence,
                limit: 200,
              })
              .rows.find((r) => r.body !== null && r.body.includes(`"reference":"${row.id}"`)) ??
            null)
          : null;
      return {
        event: toApiEvent(row, true),
        outcome: outcome ? toApiEvent(outcome) : null,
      };
    },
  );

  app.get<{ Params: { ref: string } }>(
    '/api/v1/events/:ref/proof',
    {
      config: { role: 'auditor' },
      schema: {
        summary:
          'The RFC 6962 inclusion proof of one record (against the latest covering checkpoint)',
        tags: ['integrity'],
        params: refParams,
      },
    },
    (req) => {
      const row = findEvent(ctx, req.params.ref);
      return { sequence: row.sequence, canonical: row.body, ...ctx.proofs.prove(row) };
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/export',
    {
      config: { role: 'auditor' },
      schema: {
        summary: 'Matching records as NDJSON (the canonical JSON, one per line), oldest first',
        tags: ['records'],
        querystring: filterQuerySchema,
      },
    },
    (req, reply) => {
      const filter = { ...parseFilterQuery(req.query), order: 'oldest' as const };
      const lines: string[] = [];
      let after = filter.after;
      let total = 0;
      // Pages of `limit` until the end or 100k records, whichever first.
      for (;;) {
        const page = ctx.store.search({
          ...filter,
          limit: 1000,
          ...(after !== undefined ? { after } : {}),
        });
        for (const r of page.rows) if (r.body !== null) lines.push(r.body);
        total += page.rows.length;
        if (page.next === null || total >= 100_000) break;
        after = page.next;
      }
      void reply.header('content-type', 'application/x-ndjson; charset=utf-8');
      return lines.map((l) => `${l}\n`).join('');
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/live',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Live tail: matching records as Server-Sent Events (`event: record`) as they commit',
        tags: ['records'],
        querystring: filterQuerySchema,
      },
    },
    async (req, reply) => {
      const { limit: _limit, ...filter } = parseFilterQuery(req.query);
      // The stream ends only when the client leaves: record the request as it starts.
      if (req.principal?.name != null) recordRequest(ctx, req, 200, req.principal);
      reply.hijack();
      await streamLive(reply.raw, ctx.recorder, filter, ctx.closing);
    },
  );
}
