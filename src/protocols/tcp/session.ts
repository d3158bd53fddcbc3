/** `protocol: tcp`: bytes are relayed as they are; only the connection is recorded. */
import type { SessionFactory } from '../session.js';

export const createTcpSession: SessionFactory = (ctx) => ({
  onClientData: (chunk) => ctx.toUpstream(chunk),
  onServerData: (chunk) => ctx.toClient(chunk),
});
