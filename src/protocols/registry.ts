/**
 * Which session serves which `protocol:`, and the start-up work a protocol needs.
 */
import { createHttpSession } from './http/index.js';
import { withImplicitTls } from './implicit-tls.js';
import { createMysqlListenerSession } from './mysql/index.js';
import { createPostgresListenerSession, initPostgresClassifier } from './postgres/index.js';
import { createRedisListenerSession } from './redis/index.js';
import type { SessionFactory } from './session.js';
import { createTcpSession } from './tcp/index.js';
import { createTlsSession } from './tls/index.js';

const factories = new Map<string, SessionFactory>([
  ['tcp', createTcpSession],
  ['postgres', createPostgresListenerSession],
  ['mysql', createMysqlListenerSession],
  ['redis', withImplicitTls(createRedisListenerSession)],
  ['http', withImplicitTls(createHttpSession)],
  ['tls', createTlsSession],
]);

/** ECS `network.protocol` names per listener protocol. */
export const ECS_PROTOCOL: Readonly<Record<string, string>> = {
  tcp: 'tcp',
  postgres: 'postgresql',
  mysql: 'mysql',
  redis: 'redis',
  http: 'http',
  tls: 'tls',
};

export function registerProtocol(name: string, factory: SessionFactory): void {
  factories.set(name, factory);
}

/** The factory for a protocol, or null when it is not built in. */
export function sessionFactoryFor(protocol: string): SessionFactory | null {
  return factories.get(protocol) ?? null;
}

/** Optional async start-up work per protocol (e.g. loading the SQL parser). */
const initializers = new Map<string, () => Promise<void>>([['postgres', initPostgresClassifier]]);

export function registerProtocolInit(name: string, init: () => Promise<void>): void {
  initializers.set(name, init);
}

export async function initProtocols(protocols: Iterable<string>): Promise<void> {
  for (const p of new Set(protocols)) await initializers.get(p)?.();
}
