/**
 * Native refusals of new connections while the audit store is unavailable, over TLS and
 * against hostile clients. The store-fault tests (store-fault.test.ts, needs root) make the
 * store really fail; here the recorder is only made to *report* a failing store
 * (`isHealthy` → false), so the records of the refusals still commit and can be read at
 * once. What is under test is the gateway's answer: psql and node-postgres with TLS
 * (SSLRequest `S`, then FATAL 57P03 inside TLS), `redis-cli --tls` and `curl -k` (implicit
 * TLS, then -ERR / 503), a PostgreSQL startup packet declaring 2 GiB, a Redis client sending
 * 100 KiB without a line end, an HTTP head that never ends, and a client that says nothing:
 * each answered or closed within its bounds, recorded with reason store-unavailable, and the
 * gateway serves normally once the store is back.
 */
import http from 'node:http';
import net from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runToExit } from '../helpers/run.js';
import { selfSignedCert } from '../helpers/tls-cert.js';
import { until } from '../helpers/wait.js';

const HOST = '127.0.0.1';
let gw: TestGateway;
let web: http.Server;

beforeAll(async () => {
  const cert = await selfSignedCert();
  const tls = { cert: cert.cert, key: cert.key };
  web = http.createServer((req, res) => res.end(`ok ${req.url ?? ''}`));
  await new Promise<void>((resolve) => web.listen(0, HOST, resolve));
  const webPort = (web.address() as net.AddressInfo).port;
  gw = await startGateway({
    listeners: [
      { name: 'pg', listen: `${HOST}:0`, target: `${HOST}:5432`, protocol: 'postgres', tls },
      { name: 'cache', listen: `${HOST}:0`, target: `${HOST}:6379`, protocol: 'redis', tls },
      { name: 'web', listen: `${HOST}:0`, target: `${HOST}:${webPort}`, protocol: 'http', tls },
      {
        name: 'slow',
        listen: `${HOST}:0`,
        target: `${HOST}:5432`,
        protocol: 'postgres',
        handshake_timeout: '1s',
      },
    ],
  });
  vi.spyOn(gw.gateway.recorder, 'isHealthy').mockReturnValue(false);
}, 60_000);

afterAll(async () => {
  vi.restoreAllMocks();
  await gw?.stop();
  web?.closeAllConnections();
  await new Promise((resolve) => web?.close(resolve));
});

/** Connect, write `bytes`, collect what comes back until the gateway closes. */
function exchange(
  port: number,
  bytes: Buffer,
): Promise<{ received: Buffer; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const chunks: Buffer[] = [];
    const sock = net.connect({ host: HOST, port }, () => {
      if (bytes.length > 0) sock.write(bytes);
    });
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => undefined);
    sock.on('close', () =>
      resolve({ received: Buffer.concat(chunks), closedAfterMs: Date.now() - started }),
    );
    sock.setTimeout(15_000, () => {
      sock.destroy();
      reject(new Error('the gateway did not close the connection'));
    });
  });
}

const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

describe('native refusals of new connections while the audit store is unavailable', () => {
  it('psql with sslmode=require: TLS, then FATAL 57P03 inside it', async () => {
    const out = await runToExit('psql', [
      '-X',
      `host=${HOST} port=${gw.port('pg')} user=postgres dbname=test sslmode=require`,
      '-c',
      'select 1',
    ]);
    expect(out.code).not.toBe(0);
    expect(out.stderr).toMatch(/FATAL:\s+portwarden: the audit store is unavailable/);
    const client = new pg.Client({
      host: HOST,
      port: gw.port('pg'),
      user: 'postgres',
      database: 'test',
      ssl: { rejectUnauthorized: false },
    });
    client.on('error', () => undefined);
    await expect(client.connect()).rejects.toMatchObject({ code: '57P03' });
  });

  it('redis-cli --tls and curl -k: implicit TLS, then -ERR and 503', async () => {
    const cli = await runToExit('redis-cli', [
      '--tls',
      '--insecure',
      '-h',
      HOST,
      '-p',
      String(gw.port('cache')),
      'PING',
    ]);
    expect(cli.stdout + cli.stderr).toMatch(/ERR audit store unavailable/);
    const curl = await runToExit('curl', ['-k', '-s', '-i', `https://${HOST}:${gw.port('web')}/`]);
    expect(curl.stdout).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(curl.stdout).toMatch(/\r\nRetry-After: 5\r\n/);
    expect(curl.stdout).toMatch(/\r\nConnection: close\r\n/);
  });

  it('hostile starts are bounded: a 2 GiB startup packet, 100 KiB without a line end, an endless HTTP head, silence', async () => {
    const huge = await exchange(gw.port('pg'), Buffer.concat([int32(0x7fffffff), int32(196608)]));
    expect(huge.received.length).toBe(0);
    // Redis answers once 64 KiB arrived without a line end.
    const flood = await exchange(gw.port('cache'), Buffer.alloc(100 * 1024, 0x61));
    expect(flood.received.toString('utf8')).toMatch(/^-ERR audit store unavailable/);
    // An HTTP head is read up to 16 KiB, then answered anyway.
    const head = Buffer.from(`GET / HTTP/1.1\r\nX-Long: ${'a'.repeat(32 * 1024)}`, 'latin1');
    const endless = await exchange(gw.port('web'), head);
    expect(endless.received.toString('latin1')).toMatch(/^HTTP\/1\.1 503 /);
    // A client that says nothing is closed at the listener's handshake_timeout (1 s here).
    const silent = await exchange(gw.port('slow'), Buffer.alloc(0));
    expect(silent.received.length).toBe(0);
    expect(silent.closedAfterMs).toBeGreaterThanOrEqual(900);
    expect(silent.closedAfterMs).toBeLessThan(5000);
  });

  it('every refusal is recorded with reason store-unavailable; served again once the store is back', async () => {
    const refusals = (): number =>
      byAction(gw.events(), 'connection-open').filter(
        (e) => field(e, 'event.reason') === 'store-unavailable',
      ).length;
    await until(() => refusals() >= 8, 10_000, 'every refusal recorded');
    expect(
      byAction(gw.events(), 'connection-open').filter(
        (e) => field(e, 'event.outcome') === 'success',
      ),
    ).toHaveLength(0);
    vi.restoreAllMocks();
    const cli = await runToExit('redis-cli', [
      '--tls',
      '--insecure',
      '-h',
      HOST,
      '-p',
      String(gw.port('cache')),
      'PING',
    ]);
    expect(cli.stdout).toBe('PONG\n');
    const psql = await runToExit('psql', [
      '-X',
      '-At',
      `host=${HOST} port=${gw.port('pg')} user=postgres dbname=test sslmode=require`,
      '-c',
      'select 7',
    ]);
    expect(psql.stdout).toBe('7\n');
  });
});
