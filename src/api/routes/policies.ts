/**
 * Policies: the state in force (the newest successful policy-reload record carries every
 * policy as written, its version and which listener uses it; before any, the config), the
 * versions over time, and reload (admin).
 */
import type { FastifyInstance } from 'fastify';
import { PortwardenError } from '../../errors.js';
import { policyVersion } from '../../policy/index.js';
import type { ApiContext } from '../context.js';
import { recordField, toApiEvent } from '../records.js';

export function policyRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/policies',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Policies in force: each as written, its version, and the listeners using it',
        tags: ['policy'],
      },
    },
    () => {
      const last = ctx.store.search({ actions: ['policy-reload'], outcome: 'success', limit: 1 })
        .rows[0];
      const recorded = last
        ? recordField(toApiEvent(last).record, 'policy.definitions')
        : undefined;
      const definitions =
        recorded !== null && typeof recorded === 'object' && !Array.isArray(recorded)
          ? (recorded as Record<string, unknown>)
          : ctx.gateway.loaded.config.policies;
      return {
        since_sequence: last?.sequence ?? null,
        policies: Object.entries(definitions).map(([name, policy]) => ({
          name,
          version: policyVersion(policy),
          listeners: ctx.gateway.listeners
            .filter((l) => l.runtime.config.policy === name)
            .map((l) => l.name),
          policy,
        })),
        listeners: ctx.gateway.listeners.map((l) => ({
          name: l.name,
          policy: l.runtime.config.policy ?? null,
          version: l.runtime.policyVersion,
        })),
      };
    },
  );

  app.get(
    '/api/v1/policies/versions',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Policy versions over time: policy-reload records (state, changes, rejections), newest first',
        tags: ['policy'],
      },
    },
    () => ({
      reloads: ctx.store
        .search({ actions: ['policy-reload'], limit: 500 })
        .rows.map((r) => toApiEvent(r)),
    }),
  );

  app.post(
    '/api/v1/policies/reload',
    {
      config: { role: 'admin' },
      schema: {
        summary: 'Re-read the config file and swap in its policies (recorded as policy-reload)',
        tags: ['policy'],
      },
    },
    async (_req, reply) => {
      if (ctx.reloadPolicies === null)
        throw new PortwardenError('PW_ERR_NOT_FOUND', {
          what: 'policy reload (this gateway was started without a reloader)',
        });
      const answer = ctx.reloadPolicies();
      await reply.code(answer.ok ? 200 : 422).send(answer);
    },
  );
}
