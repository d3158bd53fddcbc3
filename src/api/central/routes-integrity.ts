/** Central integrity: nodes and their chain state, checkpoints per node, verify a node now. */
import type { FastifyInstance } from 'fastify';
import { PortwardenError } from '../../errors.js';
import type { CentralCheckpoint } from '../../ship/index.js';
import type { CentralApiContext, CentralVerifyReport } from './source.js';

const nodeQuery = {
  type: 'object',
  properties: { node: { type: 'string', description: 'only this node' } },
} as const;

function toApiCheckpoint(c: CentralCheckpoint): Record<string, string | number> {
  return {
    node: c.node,
    size: c.size,
    time: c.receivedAt.toISOString(),
    root: c.root.toString('hex'),
    note: c.note,
  };
}

async function verifyOne(ctx: CentralApiContext, node: string): Promise<CentralVerifyReport> {
  const keys = ctx.keys.filter((k) => k.split('+')[0] === node);
  const started = Date.now();
  const base = { node, checked_at: new Date(started).toISOString() };
  if (keys.length === 0)
    return {
      ...base,
      ok: false,
      duration_ms: 0,
      kind: 'unknown-key',
      detail: `no verifier key for node ${node} (central serve --key / --keys-file)`,
    };
  const r = await ctx.source.verifyNode(node, keys);
  const report: CentralVerifyReport = r.ok
    ? { ...base, ok: true, size: r.size, checkpoints: r.checkpoints, duration_ms: 0 }
    : { ...base, ok: false, kind: r.kind, sequence: r.sequence, detail: r.detail, duration_ms: 0 };
  return { ...report, duration_ms: Date.now() - started };
}

export function centralIntegrityRoutes(app: FastifyInstance, ctx: CentralApiContext): void {
  app.get(
    '/api/v1/nodes',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Every node the collector has seen: records, last checkpoint, pending, quarantined, findings, broken',
        tags: ['integrity'],
      },
    },
    async () => ({
      nodes: (await ctx.source.nodes()).map((n) => ({
        node: n.node,
        records: n.nextSeq,
        checkpoint_size: n.checkpointSize,
        pending: n.pending,
        quarantined: n.quarantined,
        findings: n.findings,
        broken: n.broken,
        last_verify: ctx.lastVerify.get(n.node) ?? null,
      })),
      findings: (await ctx.source.findings()).slice(-500).map((f) => ({
        node: f.node,
        sequence: f.sequence,
        kind: f.kind,
        detail: f.detail,
      })),
    }),
  );

  app.get(
    '/api/v1/integrity',
    {
      config: { role: 'viewer' },
      schema: {
        summary:
          'Records of every node, the newest verified checkpoint, broken nodes and the last verify',
        tags: ['integrity'],
      },
    },
    async () => {
      const nodes = await ctx.source.nodes();
      const [latest] = await ctx.source.checkpoints(undefined, 1);
      const reports = [...ctx.lastVerify.values()];
      return {
        records: nodes.reduce((n, x) => n + x.nextSeq, 0),
        nodes: nodes.length,
        broken: nodes.filter((n) => n.broken).map((n) => n.node),
        store_healthy: true,
        latest_checkpoint: latest ? toApiCheckpoint(latest) : null,
        last_verify:
          reports.length === 0
            ? null
            : {
                ok: reports.every((r) => r.ok),
                checked_at: reports.map((r) => r.checked_at).sort()[0],
                nodes: reports,
              },
      };
    },
  );

  app.get<{ Querystring: { node?: string } }>(
    '/api/v1/checkpoints',
    {
      config: { role: 'auditor' },
      schema: {
        summary: 'Verified signed checkpoints (C2SP notes), newest first, at most 500',
        tags: ['integrity'],
        querystring: nodeQuery,
      },
    },
    async (req) => ({
      checkpoints: (await ctx.source.checkpoints(req.query.node || undefined, 500)).map(
        toApiCheckpoint,
      ),
    }),
  );

  app.post<{ Querystring: { node?: string } }>(
    '/api/v1/integrity/verify',
    {
      config: { role: 'auditor' },
      schema: {
        summary:
          "Recompute a node's chain (or every node's) from sequence 0: leaves, sequences, every checkpoint root and signature",
        tags: ['integrity'],
        querystring: nodeQuery,
      },
    },
    async (req) => {
      const all = (await ctx.source.nodes()).map((n) => n.node);
      const wanted = req.query.node ? [req.query.node] : all;
      if (req.query.node && !all.includes(req.query.node))
        throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `node ${req.query.node}` });
      const started = Date.now();
      const reports: CentralVerifyReport[] = [];
      for (const node of wanted) {
        const r = await verifyOne(ctx, node);
        ctx.lastVerify.set(node, r);
        reports.push(r);
      }
      const bad = reports.find((r) => !r.ok);
      return {
        ok: bad === undefined,
        checked_at: new Date(started).toISOString(),
        duration_ms: Date.now() - started,
        size: reports.reduce((n, r) => n + (r.size ?? 0), 0),
        checkpoints: reports.reduce((n, r) => n + (r.checkpoints ?? 0), 0),
        ...(bad
          ? {
              node: bad.node,
              kind: bad.kind,
              sequence: bad.sequence,
              detail: `node ${bad.node}: ${bad.detail ?? ''}`,
            }
          : {}),
        nodes: reports,
      };
    },
  );
}
