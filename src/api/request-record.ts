/** The `api-request` record of one API call: token name and role, method, route, status. */
import type { FastifyRequest } from 'fastify';
import { NO_CONTEXT } from '../audit/recorder.js';
import { normalizeIp } from '../gateway/index.js';
import type { Principal } from './auth.js';
import type { ApiContext } from './context.js';

/** Append it once per request. Never the token, and the route template, not the raw URL. */
export function recordRequest(
  ctx: Pick<ApiContext, 'recorder'>,
  req: FastifyRequest,
  status: number,
  principal: Principal | null,
): void {
  if (req.recorded) return;
  req.recorded = true;
  const sourceIp = normalizeIp(req.socket.remoteAddress ?? '');
  const sourcePort = req.socket.remotePort ?? null;
  const route = req.routeOptions.url ?? req.url.split('?')[0] ?? '';
  ctx.recorder.append(
    {
      event: {
        action: 'api-request',
        category: ['web'],
        type: ['access'],
        outcome: status < 400 ? 'success' : 'failure',
      },
      http: { request: { method: req.method }, response: { status_code: status } },
      url: { path: route },
      source: { ip: sourceIp, ...(sourcePort !== null ? { port: sourcePort } : {}) },
      ...(principal?.name != null
        ? { user: { name: principal.name, roles: [principal.role] } }
        : {}),
    },
    { ...NO_CONTEXT, sourceIp, sourcePort, user: principal?.name ?? null },
  );
}
