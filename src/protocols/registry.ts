/**
 * Which session serves which `protocol:`, and the start-up work a protocol needs.
 */
import { createHttpSession, refuseHttpConnection } from './http/index.js';
import { withImplicitTls, withImplicitTlsRefusal } from './implicit-tls.js';
import { createMysqlListenerSession, refuseMysqlConnection } from './mysql/index.js';
import {
  createPostgresListenerSession,
  initPostgresClassifier,
  refusePostgresConnection,
} from './postgres/index.js';
import { createRedisListenerSession, refuseRedisConnection } from './redis/index.js';
import type { ConnectionRefusalFactory, SessionFactory } from './session.js';
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

/**
 * How each protocol refuses a new connection natively while the audit store is unavailable
 * (`on_store_failure: refuse`); `tcp` and `tls` have no such answer and are closed.
 */
const storeRefusals = new Map<string, ConnectionRefusalFactory>([
  ['postgres', refusePostgresConnection],
  ['mysql', refuseMysqlConnection],
  ['redis', withImplicitTlsRefusal(refuseRedisConnection)],
  ['http', withImplicitTlsRefusal(refuseHttpConnection)],
]);

/** The native refusal of a new connection for a protocol, or null (closed without an answer). */
export function storeRefusalFor(protocol: string): ConnectionRefusalFactory | null {
  return storeRefusals.get(protocol) ?? null;
}

/** Protocols whose sessions decide actions (and so can refuse them natively). */
export function hasActions(protocol: string): boolean {
  return storeRefusals.has(protocol);
}

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
