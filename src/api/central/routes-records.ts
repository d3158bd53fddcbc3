/** Central record routes: search, one record, export, live tail, alerts, a connection's story, who. */
import type { FastifyInstance } from 'fastify';
import { formatTimestampNs } from '../../audit/clock.js';
import { PortwardenError } from '../../errors.js';
import { type CentralRow, encodeCursor } from '../../ship/index.js';
import { parseEndpointParam, parseTimeParam } from '../filters.js';
import { recordField } from '../records.js';
import { toCentralEvent } from './events.js';
import { centralFilterSchema, parseCentralQuery } from './filters.js';
import { streamCentralLive } from './live.js';
import type { CentralApiContext } from './source.js';

const refParams = {
  type: 'object',
  properties: { ref: { type: 'string', description: 'NODE:SEQ or event.id' } },
  required: ['ref'],
} as const;

/** `NODE:SEQ` or an event id. A bare number is refused: sequences are each node's own. */
export async function findCentralEvent(ctx: CentralApiContext, ref: string): Promise<CentralRow> {
  if (/^\d{1,16}$/.test(ref))
    throw new PortwardenError('PW_ERR_QUERY', {
      detail: `ref: a sequence is a node's own; name the record as NODE:SEQ (node-a:${ref}) or by event.id`,
    });
  const m = /^(.{1,200}):(\d{1,16})$/.exec(ref);
  const row =
    m !== null
      ? await ctx.source.record(m[1] ?? '', Number(m[2]))
      : ref.length <= 200
        ? await ctx.source.recordById(ref)
        : null;
  if (!row) throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `event ${ref.slice(0, 200)}` });
  return row;
}

export function centralRecordRoutes(app: FastifyInstance, ctx: CentralApiContext): void {
  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/events',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Search the records of every node (the shared filter model plus node and module), in the central order (time, node, sequence); keyset pages through `next`',
        tags: ['records'],
        querystring: centralFilterSchema,
      },
    },
    async (req) => {
      const page = await ctx.source.search(parseCentralQuery(req.query));
      return { events: page.rows.map((r) => toCentralEvent(r)), next: page.next };
    },
  );

  app.get<{ Params: { ref: string } }>(
    '/api/v1/events/:ref',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'One record by NODE:SEQ or event.id, with its canonical JSON as hashed',
        tags: ['records'],
        params: refParams,
      },
    },
    async (req) => {
      const row = await findCentralEvent(ctx, req.params.ref);
      let outcome: CentralRow | null = null;
      const action = row.action ?? '';
      if (
        row.connectionId !== null &&
        row.id !== null &&
        (action.endsWith('-query') || action.endsWith('-command') || action === 'http-request')
      ) {
        const page = await ctx.source.search({
          node: row.node,
          connectionId: row.connectionId,
          order: 'oldest',
          after: encodeCursor({ tsNs: row.timestampNs, node: row.node, seq: row.sequence }),
          limit: 200,
        });
        const ref = `"reference":${JSON.stringify(row.id)}`;
        outcome = page.rows.find((r) => r.body !== null && r.body.includes(ref)) ?? null;
      }
      return {
        event: toCentralEvent(row, true),
        outcome: outcome ? toCentralEvent(outcome) : null,
      };
    },
  );

  app.get<{ Params: { ref: string } }>(
    '/api/v1/events/:ref/proof',
    {
      config: { role: 'auditor' },
      schema: {
        summary:
          'Inclusion proofs come from the node itself: answers available false (central verify checks whole chains)',
        tags: ['integrity'],
        params: refParams,
      },
    },
    async (req) => {
      const row = await findCentralEvent(ctx, req.params.ref);
      return {
        sequence: row.sequence,
        node: row.node,
        available: false,
        reason: `the central API serves no inclusion proofs: ask node ${row.node} (portwarden proof) or run central verify`,
      };
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/export',
    {
      config: { role: 'auditor' },
      schema: {
        summary: 'Matching records as NDJSON (canonical JSON), oldest first, at most 100,000',
        tags: ['records'],
        querystring: centralFilterSchema,
      },
    },
    async (req, reply) => {
      const filter = { ...parseCentralQuery(req.query), order: 'oldest' as const, limit: 1000 };
      const lines: string[] = [];
      let after = filter.after;
      for (let total = 0; total < 100_000;) {
        const page = await ctx.source.search({
          ...filter,
          ...(after !== undefined ? { after } : {}),
        });
        for (const r of page.rows) if (r.body !== null) lines.push(`${r.body}\n`);
        total += page.rows.length;
        if (page.next === null) break;
        after = page.next;
      }
      void reply.header('content-type', 'application/x-ndjson; charset=utf-8');
      return lines.join('');
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/live',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Live tail: records as the collector stores them, as Server-Sent Events (`event: record`), each node in sequence order',
        tags: ['records'],
        querystring: centralFilterSchema,
      },
    },
    async (req, reply) => {
      const { limit: _l, after: _a, order: _o, ...filter } = parseCentralQuery(req.query);
      reply.hijack();
      await streamCentralLive(reply.raw, ctx, filter);
    },
  );

  app.get<{ Querystring: Record<string, string> }>(
    '/api/v1/alerts',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Alerts of every node (event.kind alert), newest first; filters apply',
        tags: ['records'],
        querystring: centralFilterSchema,
      },
    },
    async (req) => {
      const filter = parseCentralQuery(req.query);
      const actions = (await ctx.source.groupBy({}, 'action', 10_000))
        .map((g) => g.key)
        .filter((a) => a.startsWith('anomaly-'));
      if (actions.length === 0) return { alerts: [], next: null };
      const page = await ctx.source.search({ ...filter, actions });
      return {
        alerts: page.rows
          .map((r) => toCentralEvent(r))
          .filter((e) => recordField(e.record, 'event.kind') === 'alert'),
        next: page.next,
      };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { node?: string } }>(
    '/api/v1/connections/:id/story',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          "One connection's whole story, oldest first (node narrows it when two nodes used the id)",
        tags: ['records'],
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
        querystring: { type: 'object', properties: { node: { type: 'string' } } },
      },
    },
    async (req) => {
      const { node } = req.query;
      const page = await ctx.source.search({
        connectionId: req.params.id,
        ...(node !== undefined && node !== '' ? { node } : {}),
        order: 'oldest',
        limit: 10_000,
      });
      if (page.rows.length === 0)
        throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `connection ${req.params.id}` });
      const closed = page.rows.some((r) => r.action === 'connection-close');
      return {
        connection: req.params.id,
        nodes: [...new Set(page.rows.map((r) => r.node))],
        open: !closed,
        events: page.rows.map((r) => toCentralEvent(r)),
        more: page.next !== null,
      };
    },
  );

  app.get<{ Querystring: { endpoint?: string; at?: string } }>(
    '/api/v1/who',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Which connection, on any node, held IP:PORT (client or upstream leg) at a moment',
        tags: ['records'],
        querystring: {
          type: 'object',
          properties: {
            endpoint: { type: 'string', description: 'IP:PORT ([v6]:PORT)' },
            at: { type: 'string', description: 'RFC 3339 or relative (5m); default now' },
          },
          required: ['endpoint'],
        },
      },
    },
    async (req) => {
      const ep = parseEndpointParam('endpoint', req.query.endpoint ?? '');
      if (ep.port === undefined)
        throw new PortwardenError('PW_ERR_QUERY', { detail: 'endpoint: expected IP:PORT' });
      const at =
        req.query.at !== undefined
          ? parseTimeParam('at', req.query.at)
          : BigInt(Date.now()) * 1_000_000n;
      const answer = await ctx.source.connectionAt(ep.ip, ep.port, at);
      if (!answer)
        throw new PortwardenError('PW_ERR_NOT_FOUND', {
          what: `a connection using ${req.query.endpoint} at ${formatTimestampNs(at)}`,
        });
      return {
        leg: answer.leg,
        at: formatTimestampNs(at),
        node: answer.open.node,
        open: toCentralEvent(answer.open),
        close: answer.close ? toCentralEvent(answer.close) : null,
      };
    },
  );
}
