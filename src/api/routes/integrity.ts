/** Checkpoints, integrity status, and "verify now" (auditor). */
import type { FastifyInstance } from 'fastify';
import { formatTimestampNs } from '../../audit/clock.js';
import { PortwardenError } from '../../errors.js';
import type { CheckpointRow } from '../../store/index.js';
import type { ApiContext } from '../context.js';
import { verifyStore } from '../verify.js';

function toApiCheckpoint(c: CheckpointRow): Record<string, string | number> {
  return {
    size: c.size,
    time: formatTimestampNs(c.timestampNs),
    root: c.root.toString('hex'),
    note: c.note,
  };
}

export function integrityRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/integrity',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Records, latest signed checkpoint and the last verify result',
        tags: ['integrity'],
      },
    },
    () => {
      const latest = ctx.store.latestCheckpoint();
      return {
        records: ctx.store.nextSequence(),
        store_healthy: ctx.recorder.isHealthy(),
        latest_checkpoint: latest ? toApiCheckpoint(latest) : null,
        last_verify: ctx.lastVerify,
      };
    },
  );

  app.get(
    '/api/v1/checkpoints',
    {
      config: { role: 'auditor' },
      schema: {
        summary: 'Signed checkpoints (C2SP notes), newest first, at most 500',
        tags: ['integrity'],
      },
    },
    () => ({ checkpoints: ctx.store.checkpoints().reverse().slice(0, 500).map(toApiCheckpoint) }),
  );

  app.post(
    '/api/v1/integrity/verify',
    {
      config: { role: 'auditor' },
      schema: {
        summary: 'Recompute every leaf hash and the root at every checkpoint now (reads only)',
        tags: ['integrity'],
      },
    },
    async () => {
      const key = ctx.nodeKey();
      if (key === null)
        throw new PortwardenError('PW_ERR_NOT_FOUND', {
          what: 'the node key (needed to check signatures)',
        });
      ctx.lastVerify = await verifyStore(ctx.store, key);
      return ctx.lastVerify;
    },
  );
}
