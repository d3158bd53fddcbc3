/** Listeners and their live connections, one connection's story, and `who` held an endpoint. */
import type { FastifyInstance } from 'fastify';
import { formatTimestampNs } from '../../audit/clock.js';
import { formatHostPort } from '../../config/index.js';
import { PortwardenError } from '../../errors.js';
import type { ApiContext } from '../context.js';
import { parseEndpointParam, parseTimeParam } from '../filters.js';
import { toApiEvent } from '../records.js';

export function connectionRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/listeners',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Configured listeners with their live connection counts',
        tags: ['gateway'],
      },
    },
    () => ({
      listeners: ctx.gateway.listeners.map((l) => {
        const c = l.runtime.config;
        return {
          name: c.name,
          protocol: c.protocol,
          listen: formatHostPort(l.address()),
          target: formatHostPort(c.target),
          policy: c.policy ?? null,
          policy_version: l.runtime.policyVersion,
          audit_only: c.policy === undefined,
          owner: c.owner ?? null,
          purpose: c.purpose ?? null,
          criticality: c.criticality ?? null,
          active: l.runtime.connections.size,
          max_connections: c.max_connections,
        };
      }),
    }),
  );

  app.get(
    '/api/v1/connections',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Connections open now: the whole tuple, identity and bytes each way',
        tags: ['gateway'],
      },
    },
    () => {
      const now = Date.now();
      const connections = [];
      for (const l of ctx.gateway.listeners) {
        for (const c of l.runtime.connections) {
          connections.push({
            id: c.id,
            listener: l.name,
            protocol: l.runtime.config.protocol,
            source: { ip: c.sourceIp, port: c.sourcePort },
            destination: { ip: c.destinationIp, port: c.destinationPort },
            upstream_local: { ip: c.upstreamLocalIp, port: c.upstreamLocalPort },
            upstream: { ip: l.runtime.config.target.host, port: l.runtime.config.target.port },
            user: c.identity.user ?? null,
            bytes_from_client: c.bytesFromClient,
            bytes_from_server: c.bytesFromServer,
            started: c.startedAt.toISOString(),
            idle_ms: c.idleFor(now),
          });
        }
      }
      return { connections };
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/v1/connections/:id/story',
    {
      config: { role: 'viewer' },
      schema: {
        summary: "One connection's whole story: every record of it, oldest first",
        tags: ['records'],
        params: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
      },
    },
    (req) => {
      const page = ctx.store.search({
        connectionId: req.params.id,
        order: 'oldest',
        limit: 10_000,
      });
      if (page.rows.length === 0)
        throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `connection ${req.params.id}` });
      const live = ctx.gateway.listeners.some((l) =>
        [...l.runtime.connections].some((c) => c.id === req.params.id),
      );
      return {
        connection: req.params.id,
        open: live,
        events: page.rows.map((r) => toApiEvent(r)),
        more: page.next !== null,
      };
    },
  );

  app.get<{ Querystring: { endpoint?: string; at?: string } }>(
    '/api/v1/who',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Which connection held IP:PORT (client or upstream leg) at a moment',
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
    (req) => {
      const ep = parseEndpointParam('endpoint', req.query.endpoint ?? '');
      if (ep.port === undefined)
        throw new PortwardenError('PW_ERR_QUERY', { detail: 'endpoint: expected IP:PORT' });
      const at =
        req.query.at !== undefined
          ? parseTimeParam('at', req.query.at)
          : BigInt(Date.now()) * 1_000_000n;
      const answer = ctx.store.connectionAt(ep.ip, ep.port, at);
      if (!answer)
        throw new PortwardenError('PW_ERR_NOT_FOUND', {
          what: `a connection using ${req.query.endpoint} at ${formatTimestampNs(at)}`,
        });
      return {
        leg: answer.leg,
        at: formatTimestampNs(at),
        open: toApiEvent(answer.open),
        close: answer.close ? toApiEvent(answer.close) : null,
      };
    },
  );
}
