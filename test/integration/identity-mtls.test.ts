/**
 * mTLS sign-in behind `auth: gateway` (listener `tls.ca` + `client_auth`), real clients with
 * certificates issued by a test CA: psql (sslcert/sslkey), mysql2 (ssl cert/key), redis-cli
 * (--tls --cert --key) and curl (--cert --key). A certificate naming a certificate-only
 * identity signs in with no password (`user.auth_method: mtls`); one naming an identity
 * with a token still needs that token; a certificate from another CA is refused natively and
 * recorded (or, with `client_auth: require`, fails the TLS handshake, recorded as the close).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { tokenSha256 } from '../../src/identity/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runToExit } from '../helpers/run.js';
import { testCa, type IssuedCert, type TestCa } from '../helpers/tls-ca.js';
import { selfSignedCert, type TestCert } from '../helpers/tls-cert.js';

const ALICE_TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const ROLE = `pw_mtls_${process.pid}`;
const ROLE_PASS = randomBytes(16).toString('hex');
const PG_PASS_ENV = `PW_TEST_MTLS_PG_${process.pid}`;
const MY_PASS_ENV = `PW_TEST_MTLS_MY_${process.pid}`;
const APP_USER = 'pw_app';
const APP_PASS = 'pw-app-test-7f3c1e9a';

let gw: TestGateway;
let admin: pg.Client;
let myAdmin: mysql.Connection;
let ca: TestCa;
let foreignCa: TestCa;
let server: TestCert;
let svc: IssuedCert;
let alice: IssuedCert;
let forged: IssuedCert;
let target: http.Server;

function listener(
  name: string,
  protocol: string,
  targetPort: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    name,
    listen: '127.0.0.1:0',
    target: `127.0.0.1:${targetPort}`,
    protocol,
    auth: 'gateway',
    tls: { cert: server.cert, key: server.key, ca: ca.ca, client_auth: 'request' },
    ...extra,
  };
}

function loginsOf(evs: JsonObject[], name: string): JsonObject[] {
  return byAction(evs, 'db-login').filter((x) => field(x, 'listener.name') === name);
}

function psql(cert: IssuedCert, user: string, password = ''): Promise<string> {
  return runToExit('env', [
    `PGPASSWORD=${password}`,
    'psql',
    `host=127.0.0.1 port=${gw.port('pg')} user=${user} dbname=test sslmode=require sslcert=${cert.cert} sslkey=${cert.key}`,
    '-w',
    '-Atc',
    'select current_user',
  ]).then((r) => `${r.code} ${r.stdout}${r.stderr}`.trim());
}

function redisCli(cert: IssuedCert, port: number, ...args: string[]): Promise<string> {
  return runToExit('redis-cli', [
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '--tls',
    '--insecure',
    '--cert',
    cert.cert,
    '--key',
    cert.key,
    ...args,
  ]).then((r) => `${r.stdout}${r.stderr}`.trim());
}

function curl(cert: IssuedCert, port: number, ...args: string[]): Promise<string> {
  return runToExit('curl', [
    '-sk',
    '-o',
    '/dev/null',
    '-w',
    '%{http_code}',
    '--cert',
    cert.cert,
    '--key',
    cert.key,
    ...args,
    `https://127.0.0.1:${port}/orders`,
  ]).then((r) => r.stdout.trim());
}

beforeAll(async () => {
  admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASS}'`);
  myAdmin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await myAdmin.query(`CREATE USER IF NOT EXISTS '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASS}'`);
  await myAdmin.query(`ALTER USER '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASS}'`);
  // On a fresh server this file may run before the other identity tests that grant it too.
  await myAdmin.query(`GRANT SELECT ON test.* TO '${APP_USER}'@'%'`);
  process.env[PG_PASS_ENV] = ROLE_PASS;
  process.env[MY_PASS_ENV] = APP_PASS;
  ca = await testCa();
  foreignCa = await testCa('someone else');
  server = await selfSignedCert('localhost');
  svc = await ca.issue('svc', '/O=Acme/CN=orders-svc');
  alice = await ca.issue('alice', '/CN=alice');
  forged = await foreignCa.issue('forged', '/O=Acme/CN=orders-svc');
  target = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const httpPort = (target.address() as AddressInfo).port;
  gw = await startGateway({
    listeners: [
      listener('pg', 'postgres', 5432, {
        upstream_user: ROLE,
        upstream_password_env: PG_PASS_ENV,
      }),
      listener('my', 'mysql', 3306, {
        upstream_user: APP_USER,
        upstream_password_env: MY_PASS_ENV,
      }),
      listener('cache', 'redis', 6379),
      listener('api', 'http', httpPort),
      {
        ...listener('api-strict', 'http', httpPort),
        tls: { cert: server.cert, key: server.key, ca: ca.ca, client_auth: 'require' },
      },
    ],
    extra: {
      identities: [
        {
          name: 'orders-svc',
          kind: 'service',
          groups: ['services'],
          credentials: [{ type: 'mtls', subject: 'CN=orders-svc,O=Acme' }],
        },
        {
          name: 'alice',
          credentials: [
            { type: 'mtls', subject: 'CN=alice' },
            { type: 'token', sha256: tokenSha256(ALICE_TOKEN) },
          ],
        },
      ],
    },
  });
});

afterAll(async () => {
  await gw.stop();
  await new Promise((resolve) => target.close(resolve));
  await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
  await admin.end();
  await myAdmin.end();
  Reflect.deleteProperty(process.env, PG_PASS_ENV);
  Reflect.deleteProperty(process.env, MY_PASS_ENV);
  for (const d of [ca.dir, foreignCa.dir, server.dir]) rmSync(d, { recursive: true, force: true });
});

describe('mTLS sign-in', () => {
  it('psql with the service certificate signs in without a password (auth_method mtls)', async () => {
    expect(await psql(svc, 'orders-svc')).toBe(`0 ${ROLE}`);
    const evs = await gw.waitForEvents((e) =>
      loginsOf(e, 'pg').some((x) => field(x, 'event.outcome') === 'success'),
    );
    const login = loginsOf(evs, 'pg').find(
      (x) => field(x, 'event.outcome') === 'success',
    ) as JsonObject;
    expect(field(login, 'user.name')).toBe('orders-svc');
    expect(field(login, 'user.auth_method')).toBe('mtls');
    expect(field(login, 'user.roles')).toEqual(['services']);
    expect(field(login, 'db.user')).toBe(ROLE);
  });

  it('a certificate naming an identity with a token: the token is still needed', async () => {
    expect(await psql(alice, 'alice', ALICE_TOKEN)).toBe(`0 ${ROLE}`);
    expect(await psql(alice, 'alice', 'tok-wrong')).toMatch(
      /password authentication failed for user "alice"/,
    );
    // The certificate names alice: signing in as someone else with it is refused.
    expect(await psql(alice, 'orders-svc')).toMatch(
      /certificate authentication failed for user "orders-svc"/,
    );
    const evs = await gw.waitForEvents((e) =>
      loginsOf(e, 'pg').some(
        (x) => field(x, 'event.reason') === 'client certificate is identity alice',
      ),
    );
    const ok = loginsOf(evs, 'pg').find(
      (x) => field(x, 'event.outcome') === 'success' && field(x, 'user.name') === 'alice',
    ) as JsonObject;
    expect(field(ok, 'user.auth_method')).toBe('mtls');
  });

  it('mysql2 with the service certificate signs in without a password', async () => {
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: gw.port('my'),
      user: 'orders-svc',
      database: 'test',
      ssl: { cert: readFileSync(svc.cert), key: readFileSync(svc.key), rejectUnauthorized: false },
    });
    try {
      const [rows] = await conn.query('select current_user() as u');
      expect(rows).toEqual([{ u: `${APP_USER}@%` }]);
    } finally {
      await conn.end();
    }
    const evs = await gw.waitForEvents((e) =>
      loginsOf(e, 'my').some((x) => field(x, 'event.outcome') === 'success'),
    );
    const login = loginsOf(evs, 'my').find(
      (x) => field(x, 'event.outcome') === 'success',
    ) as JsonObject;
    expect(field(login, 'user.name')).toBe('orders-svc');
    expect(field(login, 'user.auth_method')).toBe('mtls');
  });

  it('redis-cli --tls with the service certificate needs no AUTH', async () => {
    expect(await redisCli(svc, gw.port('cache'), 'PING')).toBe('PONG');
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'redis-command').some((x) => field(x, 'listener.name') === 'cache'),
    );
    const login = loginsOf(evs, 'cache')[0] as JsonObject;
    expect(field(login, 'event.outcome')).toBe('success');
    expect(field(login, 'user.name')).toBe('orders-svc');
    expect(field(login, 'user.auth_method')).toBe('mtls');
  });

  it('curl with the service certificate needs no bearer; alice still needs hers', async () => {
    expect(await curl(svc, gw.port('api'))).toBe('200');
    expect(await curl(alice, gw.port('api'))).toBe('401');
    expect(await curl(alice, gw.port('api'), '-H', `Authorization: Bearer ${ALICE_TOKEN}`)).toBe(
      '200',
    );
    const evs = await gw.waitForEvents(
      (e) =>
        byAction(e, 'http-request').filter((x) => field(x, 'listener.name') === 'api').length === 3,
    );
    const requests = byAction(evs, 'http-request').filter(
      (x) => field(x, 'listener.name') === 'api',
    );
    expect(requests.map((x) => [field(x, 'user.name'), field(x, 'user.auth_method')])).toEqual([
      ['orders-svc', 'mtls'],
      [undefined, undefined],
      ['alice', 'mtls'],
    ]);
  });

  it('a certificate from another CA is refused natively and recorded', async () => {
    expect(await redisCli(forged, gw.port('cache'), 'PING')).toMatch(
      /WRONGPASS client certificate refused/,
    );
    expect(await psql(forged, 'orders-svc')).toMatch(/certificate authentication failed/);
    expect(await curl(forged, gw.port('api'))).toBe('401');
    const evs = await gw.waitForEvents(
      (e) =>
        byAction(e, 'db-login').filter((x) =>
          String(field(x, 'event.reason')).startsWith('client certificate not trusted'),
        ).length === 2 &&
        byAction(e, 'http-request').some((x) =>
          String(field(x, 'event.reason')).includes('client certificate not trusted'),
        ),
    );
    const refused = byAction(evs, 'db-login').filter((x) =>
      String(field(x, 'event.reason')).startsWith('client certificate not trusted'),
    );
    expect(refused.map((x) => field(x, 'event.outcome'))).toEqual(['failure', 'failure']);
  });

  it('client_auth: require — a certificate from another CA ends the connection, recorded', async () => {
    expect(await curl(forged, gw.port('api-strict'))).toBe('000');
    expect(await curl(svc, gw.port('api-strict'))).toBe('200');
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'connection-close').some(
        (x) => field(x, 'listener.name') === 'api-strict' && field(x, 'event.reason') === 'policy',
      ),
    );
    const closed = byAction(evs, 'connection-close').find(
      (x) => field(x, 'listener.name') === 'api-strict' && field(x, 'event.reason') === 'policy',
    ) as JsonObject;
    expect(String(field(closed, 'error.message'))).toMatch(/^client certificate required: /);
    // Only the service's request went through (the other, if read at all, was refused).
    const passed = byAction(evs, 'http-request').filter(
      (x) => field(x, 'listener.name') === 'api-strict' && field(x, 'event.outcome') !== 'failure',
    );
    expect(passed.map((x) => field(x, 'user.name'))).toEqual(['orders-svc']);
  });

  it('no token in any record', () => {
    const text = gw
      .events()
      .map((e) => JSON.stringify(e))
      .join('\n');
    for (const secret of [ALICE_TOKEN, ROLE_PASS, APP_PASS]) expect(text).not.toContain(secret);
  });
});
