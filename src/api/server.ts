/**
 * The HTTP API and dashboard server (fastify): bearer-token roles, every route under
 * /api/v1 read-only except policy reload and verify-now (which change no record) and grant
 * create/revoke (which append `grant` records, admin only), the OpenAPI document, /metrics,
 * and the built dashboard at /. Every request made with a token is itself recorded as an
 * `api-request` event (token name and role, never the token).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { readNodeKey } from '../audit/store-log.js';
import { formatHostPort, type HostPort } from '../config/index.js';
import { PortwardenError, errorMessage } from '../errors.js';
import type { Gateway } from '../gateway/index.js';
import { scanListeningSockets, type ListeningSocket } from '../inventory/index.js';
import { type Principal, type Role, TokenAuthority, roleAtLeast } from './auth.js';
import type { ApiContext, PolicyReloadAnswer } from './context.js';
import { GatewayMetrics } from './metrics.js';
import { ProofSource } from './proofs.js';
import { recordRequest } from './request-record.js';
import { alertRoutes } from './routes/alerts.js';
import { connectionRoutes } from './routes/connections.js';
import { eventRoutes } from './routes/events.js';
import { grantRoutes } from './routes/grants.js';
import { integrityRoutes } from './routes/integrity.js';
import { inventoryRoutes } from './routes/inventory.js';
import { policyRoutes } from './routes/policies.js';
import { statsRoutes } from './routes/stats.js';
import { defaultWebRoot, staticRoutes } from './static.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Least role that may call the route; absent: public (dashboard files, OpenAPI). */
    role?: Role;
  }
  interface FastifyRequest {
    principal: Principal | null;
    /** Set once the request has its api-request record (live streams record at start). */
    recorded: boolean;
  }
}

export interface ApiOptions {
  readonly gateway: Gateway;
  readonly log: Logger;
  /** Where `token_env` variables are read (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** The built dashboard (default dist/web); null serves none. */
  readonly webRoot?: string | null;
  /** Listening-socket scan (default: /proc through scanListeningSockets). */
  readonly scanInventory?: () => Promise<ListeningSocket[]>;
  /** Override config.api.listen (tests bind port 0). */
  readonly listen?: HostPort;
  /** Policy reload for POST /api/v1/policies/reload (`portwarden start` passes its reloader). */
  readonly reloadPolicies?: () => PolicyReloadAnswer;
  /** Node process metrics in /metrics (default true). */
  readonly processMetrics?: boolean;
}

export interface ApiServer {
  readonly app: FastifyInstance;
  readonly context: ApiContext;
  /** Every route registered (method, url, whether documented), for the OpenAPI sync test. */
  readonly routes: readonly { method: string; url: string; documented: boolean }[];
  /** Bind the configured address; resolves with the bound one. */
  listen(): Promise<HostPort>;
  /** Enable POST /api/v1/policies/reload with the gateway's policy reloader. */
  usePolicyReloader(reload: () => PolicyReloadAnswer): void;
  close(): Promise<void>;
}

const STATUS_OF: Partial<Record<string, number>> = {
  PW_ERR_QUERY: 400,
  PW_ERR_USAGE: 400,
  PW_ERR_NOT_FOUND: 404,
  PW_ERR_API_AUTH: 401,
  PW_ERR_STORE_UNAVAILABLE: 503,
};

/** Build the server (routes registered, nothing bound). Throws PW_ERR_CONFIG on unsafe auth. */
export async function createApiServer(opts: ApiOptions): Promise<ApiServer> {
  const { gateway, log } = opts;
  const apiConfig = gateway.loaded.config.api;
  const address = opts.listen ?? apiConfig.listen;
  const auth = new TokenAuthority(apiConfig.tokens, address.host, opts.env);
  const closing = new AbortController();
  let key: { verifierKey: string; name: string } | null | undefined;
  const nodeKey = (): { verifierKey: string; name: string } | null => {
    if (key === undefined) {
      try {
        const k = readNodeKey(gateway.loaded.config.data_dir);
        key = { verifierKey: k.verifierKey, name: k.name };
      } catch (err) {
        log.warn({ err: errorMessage(err) }, 'api: no node key: proofs come without bundles');
        key = null;
      }
    }
    return key;
  };
  const ctx: ApiContext = {
    gateway,
    store: gateway.store,
    recorder: gateway.recorder,
    auth,
    proofs: new ProofSource(gateway.store, () => nodeKey()?.verifierKey ?? null),
    metrics: new GatewayMetrics({
      store: gateway.store,
      recorder: gateway.recorder,
      activeConnections: () =>
        new Map(gateway.listeners.map((l) => [l.name, l.runtime.connections.size])),
      defaultMetrics: opts.processMetrics ?? true,
    }),
    reloadPolicies: opts.reloadPolicies ?? null,
    nodeKey,
    scanInventory: opts.scanInventory ?? (() => scanListeningSockets()),
    closing: closing.signal,
    lastVerify: null,
  };

  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024 });
  const routes: { method: string; url: string; documented: boolean }[] = [];
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat())
      if (method !== 'HEAD')
        routes.push({ method, url: r.url, documented: r.schema?.hide !== true });
  });
  app.decorateRequest('principal', null);
  app.decorateRequest('recorded', false);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'portwarden API',
        version: '1',
        description:
          'Read-only access to the audit record, live tail, integrity and gateway state; just-in-time grants (admin). Bearer tokens with roles viewer < auditor < admin.',
      },
      components: {
        securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
      },
      security: [{ bearer: [] }],
    },
  });

  app.addHook('onRequest', async (req, reply) => {
    const need = req.routeOptions.config.role;
    if (need === undefined) return;
    const result = auth.authenticate(req.headers.authorization);
    if (!result.ok) {
      recordRequest(ctx, req, 401, null);
      return sendError(reply, 401, 'PW_ERR_API_AUTH', result.detail);
    }
    req.principal = result.principal;
    if (!roleAtLeast(result.principal.role, need)) {
      return sendError(
        reply,
        403,
        'PW_ERR_API_AUTH',
        `role ${result.principal.role} may not call this (needs ${need})`,
      );
    }
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.principal?.name != null) recordRequest(ctx, req, reply.statusCode, req.principal);
  });

  app.setErrorHandler(async (err: unknown, req, reply) => {
    if (err instanceof PortwardenError) {
      const status = STATUS_OF[err.code] ?? 500;
      if (status === 500) log.error({ err: err.message, route: req.routeOptions.url }, 'api error');
      return sendError(reply, status, err.code, err.message);
    }
    const status = statusOf(err);
    if (status !== null && status < 500)
      return sendError(reply, status, 'PW_ERR_QUERY', errorMessage(err));
    log.error({ err: errorMessage(err), route: req.routeOptions.url }, 'api error');
    return sendError(reply, 500, 'PW_ERR_INTERNAL', 'internal error (see the gateway log)');
  });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, () => app.swagger());
  app.get(
    '/api/v1/session',
    {
      config: { role: 'viewer' },
      schema: { summary: 'Who the caller is (token name and role)', tags: ['session'] },
    },
    (req) => ({
      name: req.principal?.name ?? null,
      role: req.principal?.role ?? null,
      open: auth.open,
      node: gateway.loaded.config.node,
    }),
  );
  app.get(
    '/metrics',
    { config: { role: 'viewer' }, schema: { summary: 'Prometheus metrics', tags: ['metrics'] } },
    async (_req, reply) => {
      const m = await ctx.metrics.render();
      return reply.type(m.contentType).send(m.body);
    },
  );
  eventRoutes(app, ctx);
  connectionRoutes(app, ctx);
  statsRoutes(app, ctx);
  policyRoutes(app, ctx);
  integrityRoutes(app, ctx);
  alertRoutes(app, ctx);
  inventoryRoutes(app, ctx);
  grantRoutes(app, ctx);
  staticRoutes(app, opts.webRoot === undefined ? defaultWebRoot() : opts.webRoot);
  await app.ready();

  return {
    app,
    context: ctx,
    routes,
    async listen() {
      await app.listen({ host: address.host, port: address.port });
      const a = app.server.address();
      const bound =
        a !== null && typeof a !== 'string' ? { host: a.address, port: a.port } : address;
      log.info({ listen: formatHostPort(bound), open: auth.open }, 'api listening');
      return bound;
    },
    usePolicyReloader(reload) {
      ctx.reloadPolicies = reload;
    },
    async close() {
      closing.abort();
      ctx.metrics.close();
      await app.close();
    },
  };
}

/** Create, bind and return the API of a running gateway (`portwarden start`). */
export async function startApi(opts: ApiOptions): Promise<ApiServer | null> {
  if (!opts.gateway.loaded.config.api.enabled) return null;
  const server = await createApiServer(opts);
  try {
    await server.listen();
  } catch (err) {
    await server.close();
    const a = opts.listen ?? opts.gateway.loaded.config.api.listen;
    throw new PortwardenError(
      'PW_ERR_LISTEN',
      { listener: 'api', address: formatHostPort(a), detail: errorMessage(err) },
      { cause: err },
    );
  }
  return server;
}

function statusOf(err: unknown): number | null {
  if (err === null || typeof err !== 'object' || !('statusCode' in err)) return null;
  const s = err.statusCode;
  return typeof s === 'number' ? s : null;
}

function sendError(
  reply: FastifyReply,
  status: number,
  code: string,
  message: string,
): FastifyReply {
  return reply.code(status).send({ error: { code, message } });
}
