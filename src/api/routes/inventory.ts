/** The host's listening sockets with their processes, marked when a portwarden listener owns them. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

export function inventoryRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/v1/inventory',
    {
      config: { role: 'viewer' },
      schema: {
        summary: 'Listening TCP sockets on this host and who holds them',
        tags: ['inventory'],
      },
    },
    async () => {
      const sockets = await ctx.scanInventory();
      const ours = new Map(ctx.gateway.listeners.map((l) => [l.address().port, l.name]));
      return {
        scanned: new Date().toISOString(),
        sockets: sockets.map((s) => ({
          ip: s.ip,
          port: s.port,
          family: s.family,
          uid: s.uid,
          processes: s.processes,
          portwarden_listener: ours.get(s.port) ?? null,
        })),
      };
    },
  );
}
