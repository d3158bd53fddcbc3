/**
 * Slow clients (slowloris) against real listeners with short deadlines: an HTTP request head
 * trickled byte by byte is answered 408 and closed at `header_timeout` while a well-behaved
 * client keeps being served; a PostgreSQL client that never finishes its start-up is closed at
 * `handshake_timeout` while one that logged in stays, and silent MySQL, TLS and HTTP clients
 * are closed at it too; on tcp and redis listeners a client
 * trickling under `min_rate` is closed at `idle_timeout` with reason `slow-client` while
 * clients that make progress stay. Every close is recorded with its reason.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { fe } from '../helpers/pg-builder.js';
import { waitForRecord } from '../helpers/records.js';
import { command } from '../helpers/redis-resp.js';
import { run } from '../helpers/run.js';
import { until } from '../helpers/wait.js';

interface Client {
  readonly sock: net.Socket;
  readonly port: number;
  received(): string;
  closed(): boolean;
  /** Milliseconds from connect to close (NaN while open). */
  lifetimeMs(): number;
}

function connect(port: number): Promise<Client> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let got = '';
    let closedAt = NaN;
    const startedAt = Date.now();
    sock.on('data', (d: Buffer) => (got += d.toString('latin1')));
    sock.on('close', () => (closedAt = Date.now()));
    sock.on('error', () => undefined);
    sock.once('error', reject);
    sock.once('connect', () =>
      resolve({
        sock,
        port: sock.localPort ?? 0,
        received: () => got,
        closed: () => !Number.isNaN(closedAt),
        lifetimeMs: () => closedAt - startedAt,
      }),
    );
  });
}

/** Writes `bytes` one byte every `everyMs` (wrapping around) until the socket closes. */
function trickle(c: Client, bytes: Buffer, everyMs: number): void {
  let i = 0;
  const timer = setInterval(() => {
    if (c.closed() || c.sock.destroyed) {
      clearInterval(timer);
      return;
    }
    c.sock.write(bytes.subarray(i % bytes.length, (i % bytes.length) + 1));
    i++;
  }, everyMs);
  c.sock.once('close', () => clearInterval(timer));
}

/** Runs `step` every `everyMs` while `active()` holds. Resolves when stopped. */
function repeat(step: () => void, everyMs: number, active: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (!active()) {
        clearInterval(timer);
        resolve();
        return;
      }
      step();
    }, everyMs);
  });
}

function closeRecord(gw: TestGateway, port: number): Promise<JsonObject> {
  return waitForRecord(gw, 'connection-close', (c) => field(c, 'source.port') === port);
}

let web: http.Server;
/** Reads everything and never answers. */
let sink: net.Server;
let gw: TestGateway;

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

beforeAll(async () => {
  web = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.end('ok'));
  });
  sink = net.createServer((sock) => {
    sock.on('data', () => undefined);
    sock.on('error', () => undefined);
  });
  const webPort = await listen(web);
  const sinkPort = await listen(sink);
  gw = await startGateway({
    listeners: [
      {
        name: 'web',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${webPort}`,
        protocol: 'http',
        header_timeout: '1s',
        handshake_timeout: '5s',
      },
      {
        name: 'pg',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:5432',
        protocol: 'postgres',
        handshake_timeout: '1s',
      },
      {
        name: 'mysql',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:3306',
        protocol: 'mysql',
        handshake_timeout: '1s',
      },
      {
        name: 'tls',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${sinkPort}`,
        protocol: 'tls',
        handshake_timeout: '1s',
      },
      {
        name: 'web-quiet',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${webPort}`,
        protocol: 'http',
        handshake_timeout: '1s',
      },
      {
        name: 'raw',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${sinkPort}`,
        idle_timeout: '1500ms',
        min_rate: 32,
      },
      {
        name: 'redis',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:6379',
        protocol: 'redis',
        idle_timeout: '1500ms',
      },
    ],
  });
});

afterAll(async () => {
  await gw.stop();
  web.close();
  sink.close();
});

describe('slow clients', () => {
  it('http: a request head trickled byte by byte gets 408 and is closed at header_timeout; a well-behaved client keeps being served', async () => {
    const port = gw.port('web');
    const slow = await connect(port);
    // One whole request first: the deadline applies to every request head, not only the first.
    slow.sock.write('GET /first HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => slow.received().includes('ok'), 5000, 'the first response');
    trickle(slow, Buffer.from('GET /slow HTTP/1.1\r\nHost: a\r\nX-Pad: aaaaaaaaaaaaaaaa\r\n'), 150);

    const good = await connect(port);
    let served = 0;
    await repeat(
      () => good.sock.write('GET /good HTTP/1.1\r\nHost: a\r\n\r\n'),
      200,
      () => !slow.closed(),
    );
    served = good.received().split('HTTP/1.1 200').length - 1;
    expect(slow.received()).toMatch(/HTTP\/1\.1 408 Request Timeout/);
    expect(slow.lifetimeMs()).toBeLessThan(5000);
    expect(served).toBeGreaterThanOrEqual(3);
    // Still served after the slow one is gone.
    good.sock.write('GET /after HTTP/1.1\r\nHost: a\r\n\r\n');
    await until(() => good.received().split('HTTP/1.1 200').length - 1 > served, 5000, 'a reply');
    expect(good.closed()).toBe(false);
    good.sock.destroy();

    const close = await closeRecord(gw, slow.port);
    expect(field(close, 'event.reason')).toBe('header-timeout');
    expect(field(close, 'event.outcome')).toBe('failure');
    expect(String(field(close, 'error.message'))).toMatch(/request head not complete/);
  });

  it('postgres: a client that never finishes its start-up is closed at handshake_timeout; a logged-in one stays', async () => {
    const port = gw.port('pg');
    const good = await connect(port);
    good.sock.write(fe.startup({ user: 'postgres', database: 'test' }));
    // ReadyForQuery ('Z', length 5, status) ends the start-up.
    await until(() => good.received().includes('Z\0\0\0\x05I'), 5000, 'ReadyForQuery');

    const silent = await connect(port);
    const slow = await connect(port);
    // A StartupMessage whose bytes never all arrive.
    const startup = fe.startup({
      user: 'postgres',
      database: 'test',
      application_name: 'x'.repeat(64),
    });
    slow.sock.write(startup.subarray(0, 8));
    trickle(slow, startup.subarray(8, startup.length - 1), 150);

    await until(() => silent.closed() && slow.closed(), 5000, 'both slow clients closed');
    expect(silent.lifetimeMs()).toBeGreaterThanOrEqual(900);
    expect(slow.lifetimeMs()).toBeLessThan(4000);
    // The logged-in client outlived the deadline and still answers.
    expect(good.closed()).toBe(false);
    good.sock.write(fe.query('SELECT 1'));
    await until(() => good.received().includes('SELECT 1'), 5000, 'the query result');
    good.sock.write(fe.terminate());

    for (const c of [silent, slow]) {
      const close = await closeRecord(gw, c.port);
      expect(field(close, 'event.reason')).toBe('handshake-timeout');
    }
    const logins = byAction(gw.events(), 'db-login').filter(
      (e) => field(e, 'source.port') === good.port,
    );
    expect(logins.map((e) => field(e, 'event.outcome'))).toEqual(['success']);
  });

  it('mysql, tls and http: a client silent after connecting is closed at handshake_timeout (http with 408)', async () => {
    const clients = await Promise.all(
      ['mysql', 'tls', 'web-quiet'].map((name) => connect(gw.port(name))),
    );
    await until(() => clients.every((c) => c.closed()), 5000, 'all silent clients closed');
    const [mysql, tls, web] = clients;
    if (mysql === undefined || tls === undefined || web === undefined) throw new Error('clients');
    // MySQL speaks first: the greeting arrived, the client never answered it.
    expect(mysql.received().length).toBeGreaterThan(0);
    expect(web.received()).toMatch(/^HTTP\/1\.1 408 Request Timeout/);
    // A client that logged in outlives the deadline: its 1.5 s statement completes.
    const slept = await run('mariadb', [
      '-h127.0.0.1',
      `-P${gw.port('mysql')}`,
      '-uroot',
      '--skip-ssl',
      '-N',
      '-e',
      'SELECT SLEEP(1.5)',
      'test',
    ]);
    expect(slept.trim()).toBe('0');
    for (const c of clients) {
      expect(c.lifetimeMs()).toBeGreaterThanOrEqual(900);
      const close = await closeRecord(gw, c.port);
      expect(field(close, 'event.reason')).toBe('handshake-timeout');
    }
  });

  it('tcp: a client trickling under min_rate is closed at idle_timeout as slow-client; one above it stays', async () => {
    const port = gw.port('raw');
    const slow = await connect(port);
    trickle(slow, Buffer.from('x'), 200);
    const busy = await connect(port);
    const steady = repeat(
      () => busy.sock.write(Buffer.alloc(64, 0x61)),
      300,
      () => !slow.closed(),
    );
    await until(() => slow.closed(), 8000, 'the trickling client closed');
    await steady;
    // Older than idle_timeout although it sent a byte every 200 ms.
    expect(slow.lifetimeMs()).toBeGreaterThanOrEqual(1500);
    expect(busy.closed()).toBe(false);
    busy.sock.destroy();

    const close = await closeRecord(gw, slow.port);
    expect(field(close, 'event.reason')).toBe('slow-client');
    expect(String(field(close, 'error.message'))).toMatch(/under 32 bytes\/s/);
    const busyClose = await closeRecord(gw, busy.port);
    expect(field(busyClose, 'event.reason')).toBe('client-close');
  });

  it('redis: a command trickled byte by byte is closed as slow-client; a client whose commands are answered stays', async () => {
    const port = gw.port('redis');
    const slow = await connect(port);
    // A SET whose value never completes: no reply, so no progress.
    trickle(slow, command('SET', 'pw:slow', 'v'.repeat(4096)), 150);
    const good = await connect(port);
    await repeat(
      () => good.sock.write(command('PING')),
      300,
      () => !slow.closed(),
    );
    expect(slow.lifetimeMs()).toBeGreaterThanOrEqual(1500);
    expect(slow.lifetimeMs()).toBeLessThan(6000);
    expect(good.closed()).toBe(false);
    expect(good.received()).toMatch(/\+PONG/);
    good.sock.destroy();

    const close = await closeRecord(gw, slow.port);
    expect(field(close, 'event.reason')).toBe('slow-client');
    const commands = byAction(gw.events(), 'redis-command').filter(
      (e) => field(e, 'source.port') === slow.port,
    );
    expect(commands).toHaveLength(0);
  });
});
