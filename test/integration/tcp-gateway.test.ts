/**
 * The foundation through real clients: the gateway as `protocol: tcp` in front of the local
 * PostgreSQL, MariaDB and Redis. The cross-layer join is the point: the recorded
 * `upstream.local.port` is what the target itself reports as the client's port.
 */
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { encodeProxyV2 } from '../../src/gateway/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitForRecord } from '../helpers/records.js';
import { run } from '../helpers/run.js';

let gw: TestGateway;

beforeAll(async () => {
  gw = await startGateway({
    listeners: [
      { name: 'pg', listen: '127.0.0.1:0', target: '127.0.0.1:5432', protocol: 'tcp' },
      { name: 'maria', listen: '127.0.0.1:0', target: '127.0.0.1:3306', protocol: 'tcp' },
      { name: 'redis', listen: '[::1]:0', target: '127.0.0.1:6379', protocol: 'tcp' },
      {
        name: 'dead',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:1',
        protocol: 'tcp',
        connect_timeout: '2s',
      },
      {
        name: 'limited',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:6379',
        max_connections_per_source: 1,
      },
      {
        name: 'behind-lb',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:6379',
        trusted_proxies: ['127.0.0.1/32'],
      },
      {
        name: 'lb-elsewhere',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:6379',
        trusted_proxies: ['10.9.9.0/24'],
      },
    ],
  });
});

afterAll(async () => {
  await gw.stop();
});

function closesOf(connId: string): JsonObject[] {
  return byAction(gw.events(), 'connection-close').filter(
    (e) => field(e, 'connection.id') === connId,
  );
}

describe('tcp gateway with real clients', () => {
  it('records the whole tuple for a pg session; upstream.local.port equals the port PostgreSQL sees', async () => {
    const client = new pg.Client({
      host: '127.0.0.1',
      port: gw.port('pg'),
      user: 'postgres',
      database: 'test',
    });
    await client.connect();
    const stream = (client as unknown as { connection: { stream: net.Socket } }).connection.stream;
    const clientLocalPort = stream.localPort;
    const res = await client.query<{ port: number }>('select inet_client_port() as port');
    const serverSeenPort = res.rows[0]?.port;
    await client.end();
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'connection-close').some((c) => field(c, 'source.port') === clientLocalPort),
    );
    const open = byAction(evs, 'connection-open').find(
      (e) => field(e, 'source.port') === clientLocalPort,
    );
    expect(open).toBeDefined();
    if (!open) return;
    expect(field(open, 'source.ip')).toBe('127.0.0.1');
    expect(field(open, 'destination.port')).toBe(gw.port('pg'));
    expect(field(open, 'upstream.port')).toBe(5432);
    expect(field(open, 'upstream.local.port')).toBe(serverSeenPort);
    expect(String(field(open, 'network.community_id'))).toMatch(/^1:/);
    expect(String(field(open, 'upstream.community_id'))).toMatch(/^1:/);
    expect(String(field(open, '@timestamp'))).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$/);
    const [close] = closesOf(String(field(open, 'connection.id')));
    expect(close).toBeDefined();
    if (!close) return;
    expect(field(close, 'event.reason')).toBe('client-close');
    expect(field(close, 'upstream.local.port')).toBe(serverSeenPort);
    expect(Number(field(close, 'source.bytes'))).toBeGreaterThan(0);
    expect(Number(field(close, 'destination.bytes'))).toBeGreaterThan(0);
    expect(Number(field(close, 'event.duration'))).toBeGreaterThan(0);
  });

  it('psql through the gateway: pg_stat_activity.client_port matches the record', async () => {
    const out = (
      await run('psql', [
        '-h',
        '127.0.0.1',
        '-p',
        String(gw.port('pg')),
        '-U',
        'postgres',
        '-d',
        'test',
        '-Atc',
        'select client_port from pg_stat_activity where pid = pg_backend_pid()',
      ])
    ).trim();
    const port = Number(out);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'connection-close').some((c) => field(c, 'upstream.local.port') === port),
    );
    const open = byAction(evs, 'connection-open').find(
      (e) => field(e, 'upstream.local.port') === port,
    );
    expect(field(open ?? {}, 'listener.name')).toBe('pg');
  });

  it('mariadb CLI through the gateway: processlist host port matches the record', async () => {
    const out = (
      await run('mariadb', [
        '-h',
        '127.0.0.1',
        '-P',
        String(gw.port('maria')),
        '-u',
        'root',
        '-N',
        '-B',
        '-e',
        'select host from information_schema.processlist where id = connection_id()',
      ])
    ).trim();
    const port = Number(out.split(':')[1]);
    expect(port).toBeGreaterThan(0);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'connection-close').some((c) => field(c, 'upstream.local.port') === port),
    );
    expect(
      byAction(evs, 'connection-open').some(
        (e) => field(e, 'upstream.local.port') === port && field(e, 'listener.name') === 'maria',
      ),
    ).toBe(true);
  });

  it('redis-cli over IPv6 through the gateway: CLIENT LIST laddr/addr port matches the record', async () => {
    const out = await run('redis-cli', [
      '-h',
      '::1',
      '-p',
      String(gw.port('redis')),
      'CLIENT',
      'INFO',
    ]);
    const port = Number(/addr=[^ ]*:(\d+) /.exec(out)?.[1]);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'connection-close').some((c) => field(c, 'upstream.local.port') === port),
    );
    const open = byAction(evs, 'connection-open').find(
      (e) => field(e, 'upstream.local.port') === port,
    );
    expect(field(open ?? {}, 'source.ip')).toBe('::1');
  });

  it('records upstream-unreachable when the target refuses', async () => {
    const sock = net.connect(gw.port('dead'), '127.0.0.1');
    const localPort = await new Promise<number>((resolve) =>
      sock.on('connect', () => resolve(sock.localPort ?? 0)),
    );
    await new Promise((resolve) => sock.on('close', resolve));
    const open = await waitForRecord(
      gw,
      'connection-open',
      (o) => field(o, 'source.port') === localPort,
    );
    expect(field(open, 'event.outcome')).toBe('failure');
    expect(field(open, 'event.reason')).toBe('upstream-unreachable');
  });

  it('refuses and records connections over the per-source limit', async () => {
    const first = net.connect(gw.port('limited'), '127.0.0.1');
    await new Promise((resolve) => first.on('connect', resolve));
    first.write('PING\r\n');
    await new Promise((resolve) => first.once('data', resolve));
    const before = byAction(gw.events(), 'connection-open').filter(
      (o) => field(o, 'event.reason') === 'limit',
    ).length;
    const second = net.connect(gw.port('limited'), '127.0.0.1');
    second.on('error', () => undefined);
    await new Promise((resolve) => second.on('close', resolve));
    first.end();
    const evs = await gw.waitForEvents(
      (e) =>
        byAction(e, 'connection-open').filter((o) => field(o, 'event.reason') === 'limit').length >
        before,
    );
    const refused = byAction(evs, 'connection-open')
      .filter((o) => field(o, 'event.reason') === 'limit')
      .at(-1);
    expect(field(refused ?? {}, 'listener.name')).toBe('limited');
    expect(field(refused ?? {}, 'event.outcome')).toBe('failure');
    expect(String(field(refused ?? {}, 'error.message'))).toContain('max_connections_per_source 1');
  });

  it('takes the client from a PROXY v2 header sent by a trusted peer', async () => {
    const sock = net.connect(gw.port('behind-lb'), '127.0.0.1');
    await new Promise((resolve) => sock.on('connect', resolve));
    const peerPort = sock.localPort;
    sock.write(
      Buffer.concat([
        encodeProxyV2({
          source: { ip: '10.1.2.3', port: 51234 },
          destination: { ip: '10.1.2.9', port: 15432 },
        }),
        Buffer.from('PING\r\n'),
      ]),
    );
    const reply = await new Promise<string>((resolve) =>
      sock.once('data', (d: Buffer) => resolve(d.toString())),
    );
    expect(reply).toBe('+PONG\r\n');
    sock.end();
    const open = await waitForRecord(
      gw,
      'connection-open',
      (o) => field(o, 'source.ip') === '10.1.2.3',
    );
    expect(field(open, 'source.port')).toBe(51234);
    expect(field(open, 'network.forwarded.port')).toBe(peerPort);
  });

  it('refuses a PROXY v1 header from a peer outside trusted_proxies', async () => {
    const sock = net.connect(gw.port('lb-elsewhere'), '127.0.0.1');
    await new Promise((resolve) => sock.on('connect', resolve));
    const port = sock.localPort;
    sock.on('error', () => undefined);
    sock.write('PROXY TCP4 1.2.3.4 5.6.7.8 1111 2222\r\nPING\r\n');
    await new Promise((resolve) => sock.on('close', resolve));
    const close = await waitForRecord(
      gw,
      'connection-close',
      (o) => field(o, 'source.port') === port,
    );
    expect(field(close, 'event.reason')).toBe('proxy-header');
  });
});

describe('graceful shutdown', () => {
  it('drains, then records the remaining connections as shutdown', async () => {
    const g = await startGateway({
      listeners: [{ name: 'r', listen: '127.0.0.1:0', target: '127.0.0.1:6379' }],
    });
    const sock = net.connect(g.port('r'), '127.0.0.1');
    sock.on('error', () => undefined);
    sock.write('PING\r\n');
    await new Promise((resolve) => sock.once('data', resolve));
    const evs0 = g.events();
    expect(byAction(evs0, 'connection-open')).toHaveLength(1);
    await g.gateway.stop(200);
    const closes = byAction(g.events(), 'connection-close');
    expect(closes).toHaveLength(1);
    expect(field(closes[0] ?? {}, 'event.reason')).toBe('shutdown');
    sock.destroy();
    g.gateway.closeStore();
  });
});
