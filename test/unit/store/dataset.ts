/**
 * A small generated data set with known answers, written through the Recorder into a
 * SqliteStore (or any Store passed in: the conformance suites): seven connections over four listeners (PostgreSQL, Redis, HTTP), with
 * allowed and denied actions, every close reason Zeek's conn_state maps, a refused and an
 * unreachable connection, one still open, and a client port reused by a later connection.
 */
import type { JsonObject } from '../../../src/audit/event.js';
import { Recorder, type RecordContext } from '../../../src/audit/recorder.js';
import { SqliteStore, type Store } from '../../../src/store/index.js';

export interface Conn {
  readonly id: string;
  readonly listener: string;
  readonly protocol: string;
  readonly src: [string, number];
  readonly dst: [string, number];
  readonly upLocal: [string, number] | null;
  readonly up: [string, number];
  readonly community: string;
  readonly upCommunity: string | null;
}

export function context(c: Conn, policyVersion = 'sha256:v1'): RecordContext {
  const upstream: JsonObject = { ip: c.up[0], port: c.up[1] };
  if (c.upLocal) upstream.local = { ip: c.upLocal[0], port: c.upLocal[1] };
  if (c.upCommunity) upstream.community_id = c.upCommunity;
  return {
    fields: {
      listener: { name: c.listener, protocol: c.protocol },
      connection: { id: c.id },
      source: { ip: c.src[0], port: c.src[1] },
      destination: { ip: c.dst[0], port: c.dst[1] },
      upstream,
      network: { transport: 'tcp', protocol: c.protocol, community_id: c.community },
      policy: { version: policyVersion },
    },
    listener: c.listener,
    connectionId: c.id,
    sourceIp: c.src[0],
    sourcePort: c.src[1],
    destinationIp: c.dst[0],
    destinationPort: c.dst[1],
    upstreamLocalIp: c.upLocal?.[0] ?? null,
    upstreamLocalPort: c.upLocal?.[1] ?? null,
    upstreamIp: c.up[0],
    upstreamPort: c.up[1],
    communityId: c.community,
    user: null,
  };
}

const PG = (id: string, srcPort: number, upPort: number | null, src = '10.0.0.1'): Conn => ({
  id,
  listener: 'orders-db',
  protocol: 'postgres',
  src: [src, srcPort],
  dst: ['10.0.0.9', 15432],
  upLocal: upPort === null ? null : ['10.0.0.9', upPort],
  up: ['10.0.1.1', 5432],
  community: `1:${id}-client`,
  upCommunity: upPort === null ? null : `1:${id}-upstream`,
});

export const C1 = PG('c1', 50001, 40001);
export const C2: Conn = {
  id: 'c2',
  listener: 'cache',
  protocol: 'redis',
  src: ['10.0.0.2', 50002],
  dst: ['10.0.0.9', 16379],
  upLocal: ['10.0.0.9', 40002],
  up: ['10.0.1.2', 6379],
  community: '1:c2-client',
  upCommunity: '1:c2-upstream',
};
export const C3: Conn = {
  id: 'c3',
  listener: 'api',
  protocol: 'http',
  src: ['10.0.0.3', 50003],
  dst: ['10.0.0.9', 18080],
  upLocal: ['10.0.0.9', 40003],
  up: ['10.0.1.3', 8080],
  community: '1:c3-client',
  upCommunity: '1:c3-upstream',
};
export const C4 = PG('c4', 50004, null, '10.0.0.4');
export const C5 = PG('c5', 50005, null);
export const C6 = PG('c6', 50006, 40006, '10.0.0.6');
/** Reuses C1's client port after C1 closed. */
export const C7 = PG('c7', 50001, 40007);

export interface Dataset<S extends Store = SqliteStore> {
  readonly store: S;
  /** A moment while C1 was open, after it closed, and after everything. */
  readonly duringC1: bigint;
  readonly afterC1: bigint;
  readonly betweenPhases: bigint;
  readonly total: number;
}

const open = (outcome: 'success' | 'failure' = 'success', reason?: string) => ({
  event: {
    action: 'connection-open' as const,
    category: ['network'],
    type: outcome === 'success' ? ['connection', 'start', 'allowed'] : ['connection', 'denied'],
    outcome,
    ...(reason ? { reason } : {}),
  },
});

/** As connection-records.ts writes it: the endpoints with their byte counts. */
const close = (
  c: RecordContext,
  reason: string,
  bytesIn: number,
  bytesOut: number,
  detail?: string,
) => ({
  event: {
    action: 'connection-close' as const,
    category: ['network'],
    type: ['connection', 'end'],
    outcome: (['client-close', 'server-close', 'shutdown'].includes(reason)
      ? 'success'
      : 'failure') as 'success' | 'failure',
    duration: 1_500_000_000,
    reason,
  },
  ...(detail ? { error: { message: detail } } : {}),
  source: { ip: c.sourceIp, port: c.sourcePort, bytes: bytesIn },
  destination: { ip: c.destinationIp, port: c.destinationPort, bytes: bytesOut },
});

function query(
  text: string,
  operation: string,
  cls: string,
  rule: string,
  denied = false,
): Parameters<Recorder['append']>[0] {
  return {
    event: {
      action: 'db-query',
      category: ['database'],
      type: ['access', denied ? 'denied' : 'allowed'],
      outcome: denied ? 'failure' : 'success',
    },
    user: { name: 'app' },
    db: { system: 'postgresql', namespace: 'orders', operation, query: { text, class: cls } },
    rule: { id: rule },
  };
}

function result(status: string, outcome: 'success' | 'failure') {
  return {
    event: { action: 'db-result' as const, category: ['database'], type: ['info'], outcome },
    db: { system: 'postgresql', response: { status_code: status } },
  };
}

export function buildDataset(path?: string): Dataset;
export function buildDataset<S extends Store>(store: S): Dataset<S>;
export function buildDataset(target: string | Store = ':memory:'): Dataset<Store> {
  const store = typeof target === 'string' ? new SqliteStore(target) : target;
  const rec = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'node-a' });
  const c1 = context(C1);
  rec.append(open(), c1, { rule: { id: 'app-read' } });
  rec.append(
    {
      event: { action: 'db-login', category: ['database'], type: ['start'], outcome: 'success' },
      user: { name: 'app' },
      db: { system: 'postgresql', namespace: 'orders' },
    },
    c1,
  );
  rec.append(query('SELECT * FROM orders WHERE id = $1', 'SELECT', 'read', 'app-read'), c1);
  rec.append(result('00000', 'success'), c1);
  rec.append(query('DELETE FROM order_items', 'DELETE', 'write', 'no-delete', true), c1);
  rec.append(result('42501', 'failure'), c1);
  const duringC1 = rec.nowNs();
  rec.append(close(c1, 'client-close', 100, 200), c1);
  const afterC1 = rec.nowNs();

  const c2 = context(C2);
  rec.append(open(), c2);
  rec.append(
    {
      event: {
        action: 'redis-command',
        category: ['database'],
        type: ['access', 'allowed'],
        reason: 'audit-only',
      },
      user: { name: 'worker' },
      redis: { command: 'get', key: 'user:1', args_count: 1, acl_categories: ['read'] },
    },
    c2,
  );
  rec.append(
    {
      event: {
        action: 'redis-reply',
        category: ['database'],
        type: ['access'],
        outcome: 'failure',
      },
      redis: {
        command: 'get',
        reply: { type: 'error', error: { code: 'NOPERM', message: 'NOPERM no' } },
      },
    },
    c2,
  );
  rec.append(close(c2, 'reset', 10, 20, 'server: ECONNRESET'), c2);
  const betweenPhases = rec.nowNs();

  const c3 = context(C3);
  rec.append(open(), c3);
  const req = (method: string, path: string, denied: boolean) => ({
    event: {
      action: 'http-request' as const,
      category: ['web'],
      type: ['access', denied ? 'denied' : 'allowed'],
      outcome: (denied ? 'failure' : 'success') as 'success' | 'failure',
    },
    http: { version: '1.1', request: { method } },
    url: { path, domain: 'api.internal' },
    user: { name: 'alice', claimed: true },
    ...(denied ? { rule: { id: 'no-delete' } } : {}),
  });
  const res = (status: number) => ({
    event: {
      action: 'http-response' as const,
      category: ['web'],
      type: ['access'],
      outcome: (status >= 400 ? 'failure' : 'success') as 'success' | 'failure',
    },
    http: { response: { status_code: status } },
  });
  rec.append(req('GET', '/v1/orders', false), c3);
  rec.append(res(200), c3);
  rec.append(req('DELETE', '/v1/orders/7', true), c3);
  rec.append(res(403), c3);
  rec.append(close(c3, 'server-close', 300, 4000), c3);

  rec.append(open('failure', 'policy'), context(C4), { rule: { id: 'default-deny' } });
  rec.append(open('failure', 'upstream-unreachable'), context(C5));
  const c6 = context(C6);
  rec.append(open(), c6);
  rec.append(query('select pg_sleep(1)', 'SELECT', 'read', 'app-read'), c6);
  const c7 = context(C7);
  rec.append(open(), c7);
  rec.append(query('UPDATE orders SET state = 1', 'UPDATE', 'write', 'app-write'), c7);
  rec.append(close(c7, 'timeout', 5, 6), c7);
  rec.append({ event: { action: 'checkpoint', category: ['configuration'], type: ['info'] } });
  rec.flush();
  return { store, duringC1, afterC1, betweenPhases, total: rec.size };
}
