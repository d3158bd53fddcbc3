/**
 * The API and dashboard over the central store (`portwarden central serve`): the read
 * routes of the gateway API (search, one record, export, live tail, alerts, a connection's
 * story, who, stats, checkpoints, verify) answered from every node's records, plus
 * /nodes, /groups and /summary, and the dashboard bundle. Read-only: nothing here writes
 * the central store. Gateway-only routes (listeners, live connections, policies,
 * inventory, grants, metrics) do not exist here (404).
 *
 * Same access rule as the gateway API (auth.ts): bearer tokens with roles; without tokens
 * it listens only on loopback. There is no local log to record requests in, so each
 * request made with a token is logged (token name, role, method, path, status — never the
 * token or the query string).
 */
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import swagger from '@fastify/swagger';
import type { Logger } from 'pino';
import { formatHostPort, type HostPort } from '../../config/index.js';
import { PortwardenError, errorMessage } from '../../errors.js';
import { type Role, type TokenConfig, TokenAuthority, roleAtLeast } from '../auth.js';
// The request `principal` and route `role` declarations live with the gateway API server.
import type {} from '../server.js';
import { defaultWebRoot, staticRoutes } from '../static.js';
import { centralIntegrityRoutes } from './routes-integrity.js';
import { centralRecordRoutes } from './routes-records.js';
import { centralStatsRoutes } from './routes-stats.js';
import type { CentralApiContext, CentralSource } from './source.js';

export interface CentralApiOptions {
  readonly source: CentralSource;
  readonly log: Logger;
  readonly listen: HostPort;
  readonly tokens: readonly TokenConfig[];
  /** Where `token_env` variables are read (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** Verifier keys of the nodes, for POST /api/v1/integrity/verify. */
  readonly keys?: readonly string[];
  /** The built dashboard (default dist/web); null serves none. */
  readonly webRoot?: string | null;
  /** Live tail poll interval (default 1000 ms). */
  readonly pollMs?: number;
}

export interface CentralApiServer {
  readonly app: FastifyInstance;
  /** Bind; resolves with the bound address. */
  listen(): Promise<HostPort>;
  close(): Promise<void>;
}

const STATUS_OF: Partial<Record<string, number>> = {
  PW_ERR_QUERY: 400,
  PW_ERR_USAGE: 400,
  PW_ERR_NOT_FOUND: 404,
  PW_ERR_API_AUTH: 401,
  PW_ERR_STORE_UNAVAILABLE: 503,
};

function sendError(reply: FastifyReply, status: number, code: string, message: string) {
  return reply.code(status).send({ error: { code, message } });
}

/** Build the server (nothing bound). Throws PW_ERR_CONFIG off loopback without tokens. */
export async function createCentralApiServer(opts: CentralApiOptions): Promise<CentralApiServer> {
  const { log } = opts;
  const auth = new TokenAuthority(opts.tokens, opts.listen.host, opts.env);
  const closing = new AbortController();
  const ctx: CentralApiContext = {
    source: opts.source,
    keys: opts.keys ?? [],
    closing: closing.signal,
    pollMs: opts.pollMs ?? 1000,
    lastVerify: new Map(),
  };
  const app = Fastify({ logger: false, forceCloseConnections: true, bodyLimit: 64 * 1024 });
  app.decorateRequest('principal', null);
  app.decorateRequest('recorded', false);
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'portwarden central API',
        version: '1',
        description:
          'Read-only access to the records of every node in the central store. Bearer tokens with roles viewer < auditor < admin.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });

  app.addHook('onRequest', async (req, reply) => {
    const need: Role | undefined = req.routeOptions.config.role;
    if (need === undefined) return;
    const result = auth.authenticate(req.headers.authorization);
    if (!result.ok) return sendError(reply, 401, 'PW_ERR_API_AUTH', result.detail);
    req.principal = result.principal;
    if (!roleAtLeast(result.principal.role, need))
      return sendError(
        reply,
        403,
        'PW_ERR_API_AUTH',
        `role ${result.principal.role} may not call this (needs ${need})`,
      );
  });
  app.addHook('onResponse', async (req, reply) => {
    if (req.principal?.name != null)
      log.info(
        {
          token: req.principal.name,
          role: req.principal.role,
          method: req.method,
          path: req.url.split('?')[0],
          status: reply.statusCode,
        },
        'central api request',
      );
  });
  app.setErrorHandler(async (err: unknown, req, reply) => {
    if (err instanceof PortwardenError) {
      const status = STATUS_OF[err.code] ?? 500;
      if (status === 500) log.error({ err: err.message, route: req.routeOptions.url }, 'api error');
      return sendError(reply, status, err.code, err.message);
    }
    const status =
      err !== null &&
      typeof err === 'object' &&
      'statusCode' in err &&
      typeof err.statusCode === 'number'
        ? err.statusCode
        : null;
    if (status !== null && status < 500)
      return sendError(reply, status, 'PW_ERR_QUERY', errorMessage(err));
    log.error({ err: errorMessage(err), route: req.routeOptions.url }, 'api error');
    return sendError(reply, 500, 'PW_ERR_INTERNAL', 'internal error (see the central serve log)');
  });

  app.get('/api/v1/openapi.json', { schema: { hide: true } }, () => app.swagger());
  app.get(
    '/api/v1/session',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Who the caller is; central: true and the node names',
        tags: ['session'],
      },
    },
    async (req) => ({
      name: req.principal?.name ?? null,
      role: req.principal?.role ?? null,
      open: auth.open,
      node: null,
      central: true,
      nodes: (await ctx.source.nodes()).map((n) => n.node),
    }),
  );
  centralRecordRoutes(app, ctx);
  centralStatsRoutes(app, ctx);
  centralIntegrityRoutes(app, ctx);
  staticRoutes(app, opts.webRoot === undefined ? defaultWebRoot() : opts.webRoot);
  await app.ready();

  return {
    app,
    async listen() {
      try {
        await app.listen({ host: opts.listen.host, port: opts.listen.port });
      } catch (err) {
        throw new PortwardenError(
          'PW_ERR_LISTEN',
          {
            listener: 'central api',
            address: formatHostPort(opts.listen),
            detail: errorMessage(err),
          },
          { cause: err },
        );
      }
      const a = app.server.address();
      const bound =
        a !== null && typeof a !== 'string' ? { host: a.address, port: a.port } : opts.listen;
      log.info({ listen: formatHostPort(bound), open: auth.open }, 'central api listening');
      return bound;
    },
    async close() {
      closing.abort();
      await app.close();
    },
  };
}
