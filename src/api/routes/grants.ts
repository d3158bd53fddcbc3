/**
 * Just-in-time grants over the API: create and revoke (admin), list (viewer, like every read
 * — the grant records themselves are searchable by viewers anyway). A change is a `grant`
 * record naming the admin token (`user.name`, `grant.granted_by`/`revoked_by`,
 * `grant.api_token`: the token's name, never its value), answered once it is committed, so
 * policy already sees the grant when the call returns.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { NO_CONTEXT, type Recorder } from '../../audit/recorder.js';
import { parseDurationMs } from '../../config/index.js';
import { uuidv7 } from '../../audit/ids.js';
import { PortwardenError } from '../../errors.js';
import { normalizeIp } from '../../gateway/index.js';
import {
  GRANT_OPERATIONS,
  MAX_GRANT_MS,
  grantRecord,
  type Grant,
  type GrantChange,
} from '../../identity/index.js';
import type { ApiContext } from '../context.js';

const COMMIT_WAIT_MS = 10_000;

const text = (max: number): z.ZodString => z.string().min(1).max(max);

const createBody = z.strictObject({
  identity: text(63),
  listener: text(63),
  for: text(32),
  reason: text(500),
  operations: z.array(z.enum(GRANT_OPERATIONS)).max(GRANT_OPERATIONS.length).default([]),
  requested_by: text(200).optional(),
});

const revokeBody = z.strictObject({
  reason: text(500),
  requested_by: text(200).optional(),
});

/** JSON schemas for the OpenAPI document; the bodies are checked by zod (unknown keys refused). */
const createDoc = {
  type: 'object',
  required: ['identity', 'listener', 'for', 'reason'],
  properties: {
    identity: { type: 'string', description: 'the identity granted access' },
    listener: { type: 'string', description: 'the listener it applies to' },
    for: { type: 'string', description: 'how long: 30m, 2h, 1d (at most 366d)' },
    reason: { type: 'string', description: 'why (recorded), e.g. a ticket' },
    operations: {
      type: 'array',
      items: { type: 'string', enum: [...GRANT_OPERATIONS] },
      description: 'only these operation classes (default: all)',
    },
    requested_by: { type: 'string', description: 'who asked (self-reported, recorded as is)' },
  },
  additionalProperties: false,
} as const;

const revokeDoc = {
  type: 'object',
  required: ['reason'],
  properties: {
    reason: { type: 'string', description: 'why (recorded)' },
    requested_by: { type: 'string', description: 'who asked (self-reported, recorded as is)' },
  },
  additionalProperties: false,
} as const;

/**
 * Let zod check the body (fastify's validator would drop unknown keys instead of refusing
 * them: a misspelt `operations` must not widen a grant).
 */
const passBody = (): ((data: unknown) => { value: unknown }) => (data) => ({ value: data });

function parseBody<T>(schema: z.ZodType<T>, body: unknown): T {
  const r = schema.safeParse(body ?? {});
  if (r.success) return r.data;
  const detail = r.error.issues
    .map((i) => `${i.path.length > 0 ? `${i.path.join('.')}: ` : ''}${i.message}`)
    .join('; ');
  throw new PortwardenError('PW_ERR_USAGE', { detail });
}

export function toApiGrant(g: Grant, nowMs: number): Record<string, unknown> {
  return {
    id: g.id,
    identity: g.identity,
    listener: g.listener,
    expires: new Date(g.expiresMs).toISOString(),
    active: g.expiresMs > nowMs,
    operations: [...g.operations],
    reason: g.reason,
    granted_by: g.grantedBy,
    ...(g.apiToken === undefined ? {} : { api_token: g.apiToken }),
    ...(g.requestedBy === undefined ? {} : { requested_by: g.requestedBy }),
  };
}

/** Append the change's record and wait for its commit (the grant book follows commits). */
async function record(ctx: ApiContext, req: FastifyRequest, change: GrantChange): Promise<void> {
  if (!ctx.recorder.isHealthy())
    throw new PortwardenError('PW_ERR_STORE_UNAVAILABLE', { detail: ctx.recorder.lastStoreError });
  const ip = normalizeIp(req.socket.remoteAddress ?? '');
  const port = req.socket.remotePort ?? null;
  const input = grantRecord(change, 'api');
  ctx.recorder.append(
    { ...input, source: { ip, ...(port === null ? {} : { port }) } },
    { ...NO_CONTEXT, sourceIp: ip, sourcePort: port },
  );
  if (!(await committed(ctx.recorder)))
    throw new PortwardenError('PW_ERR_STORE_UNAVAILABLE', {
      detail: 'the grant record is not committed yet; it takes effect once the store accepts it',
    });
}

function committed(recorder: Recorder): Promise<boolean> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), COMMIT_WAIT_MS);
    recorder.afterCommit(() => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** The token's name: admin routes are never open (open access is `auditor`). */
function tokenName(req: FastifyRequest): string {
  const name = req.principal?.name;
  if (name == null)
    throw new PortwardenError('PW_ERR_API_AUTH', { detail: 'grants need a named admin token' });
  return name;
}

export function grantRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: { all?: boolean } }>(
    '/api/v1/grants',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Grants in force (with all=true also expired ones), soonest expiry first',
        tags: ['grants'],
        querystring: {
          type: 'object',
          properties: { all: { type: 'boolean', description: 'include expired grants' } },
          additionalProperties: false,
        },
      },
    },
    (req) => {
      const now = Date.now();
      return {
        grants: ctx.gateway.identity.grants
          .list(now, req.query.all === true)
          .map((g) => toApiGrant(g, now)),
      };
    },
  );

  app.post(
    '/api/v1/grants',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Grant an identity time-boxed access to a listener (recorded as grant)',
        tags: ['grants'],
        body: createDoc,
      },
      validatorCompiler: passBody,
    },
    async (req, reply) => {
      const name = tokenName(req);
      const body = parseBody(createBody, req.body);
      const ms = parseDurationMs(body.for);
      if (ms === null || ms <= 0 || ms > MAX_GRANT_MS)
        throw new PortwardenError('PW_ERR_USAGE', {
          detail: `for: expected a duration like 30m or 2h (at most 366d), got ${JSON.stringify(body.for)}`,
        });
      const identity = ctx.gateway.identity;
      if (!identity.directory.has(body.identity))
        throw new PortwardenError('PW_ERR_USAGE', { detail: `no identity "${body.identity}"` });
      if (!ctx.gateway.listeners.some((l) => l.name === body.listener))
        throw new PortwardenError('PW_ERR_USAGE', { detail: `no listener "${body.listener}"` });
      const grant: Grant = {
        id: uuidv7(),
        identity: body.identity,
        listener: body.listener,
        expiresMs: Date.now() + ms,
        reason: body.reason,
        operations: body.operations,
        grantedBy: name,
        apiToken: name,
        ...(body.requested_by === undefined ? {} : { requestedBy: body.requested_by }),
      };
      await record(ctx, req, { change: 'create', grant });
      return reply.code(201).send({ grant: toApiGrant(grant, Date.now()) });
    },
  );

  app.delete<{ Params: { id: string } }>(
    '/api/v1/grants/:id',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Revoke a grant now (recorded as grant, change revoke)',
        tags: ['grants'],
        params: {
          type: 'object',
          properties: { id: { type: 'string', description: 'grant.id' } },
          required: ['id'],
        },
        body: revokeDoc,
      },
      validatorCompiler: passBody,
    },
    async (req) => {
      const name = tokenName(req);
      const body = parseBody(revokeBody, req.body);
      const { id } = req.params;
      const grants = ctx.gateway.identity.grants;
      const grant = grants.get(id);
      if (grant === undefined)
        throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `grant ${id.slice(0, 64)}` });
      await record(ctx, req, {
        change: 'revoke',
        id,
        revokedBy: name,
        reason: body.reason,
        apiToken: name,
        ...(body.requested_by === undefined ? {} : { requestedBy: body.requested_by }),
      });
      return { revoked: toApiGrant(grant, Date.now()), revoked_by: name };
    },
  );
}
