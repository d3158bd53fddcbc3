/**
 * MySQL/MariaDB `auth: gateway` with the client-side plugins, real mariadb CLI and mysql2:
 * caching_sha2_password over a TLS client leg (the gateway asks for full authentication and
 * checks the token), and mysql_native_password against a stored `*HEX` hash on a plain leg
 * off loopback (a PROXY relay makes the client appear at 10.9.8.7, where no token may
 * cross in clear). Wrong tokens are refused natively (ERR 1045) and recorded without the
 * secret.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { tokenSha256 } from '../../src/identity/index.js';
import { nativePasswordHash } from '../../src/protocols/mysql/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { startProxyRelay, type ProxyRelay } from '../helpers/proxy-relay.js';
import { runToExit } from '../helpers/run.js';
import { selfSignedCert, type TestCert } from '../helpers/tls-cert.js';

const ALICE_TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const BOB_TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const APP_USER = 'pw_app';
// Fixed, as in identity-mysql.test.ts: concurrent runs agree on the test account's password.
const APP_PASS = 'pw-app-test-7f3c1e9a';
const PASS_ENV = `PW_TEST_MY_PLUGINS_${process.pid}`;
const PLUGIN_DIR = '/usr/lib/x86_64-linux-gnu/libmariadb3/plugin';
const REMOTE_IP = '10.9.8.7';

let gw: TestGateway;
let admin: mysql.Connection;
let cert: TestCert;
let relay: ProxyRelay;

function listener(name: string, extra: Record<string, unknown>): Record<string, unknown> {
  return {
    name,
    listen: '127.0.0.1:0',
    target: '127.0.0.1:3306',
    protocol: 'mysql',
    auth: 'gateway',
    upstream_user: APP_USER,
    upstream_password_env: PASS_ENV,
    ...extra,
  };
}

function mariadb(
  port: number,
  user: string,
  password: string,
  flags: readonly string[],
): Promise<{ code: number; out: string }> {
  return runToExit('mariadb', [
    '-h',
    '127.0.0.1',
    '-P',
    String(port),
    '-u',
    user,
    `-p${password}`,
    `--plugin-dir=${PLUGIN_DIR}`,
    ...flags,
    '-N',
    '-B',
    'test',
    '-e',
    'select current_user()',
  ]).then((r) => ({ code: r.code, out: (r.stdout + r.stderr).trim() }));
}

function mysql2(
  port: number,
  user: string,
  password: string,
  tls: boolean,
): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port,
    user,
    password,
    database: 'test',
    ...(tls ? { ssl: { rejectUnauthorized: false } } : {}),
  });
}

async function currentUser(conn: mysql.Connection): Promise<unknown> {
  try {
    const [rows] = await conn.query('select current_user() as u');
    return rows;
  } finally {
    await conn.end();
  }
}

function failureOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'succeeded',
    (e: unknown) => String(e),
  );
}

function failedLogins(evs: JsonObject[], listenerName: string, reason: string): JsonObject[] {
  return byAction(evs, 'db-login').filter(
    (x) => field(x, 'listener.name') === listenerName && field(x, 'event.reason') === reason,
  );
}

beforeAll(async () => {
  admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await admin.query(`CREATE USER IF NOT EXISTS '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASS}'`);
  await admin.query(`ALTER USER '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASS}'`);
  await admin.query(`GRANT SELECT ON test.* TO '${APP_USER}'@'%'`);
  process.env[PASS_ENV] = APP_PASS;
  cert = await selfSignedCert('localhost');
  gw = await startGateway({
    listeners: [
      listener('my-tls', { tls: { cert: cert.cert, key: cert.key } }),
      listener('my-remote', { trusted_proxies: ['127.0.0.1/32'] }),
    ],
    extra: {
      identities: [
        { name: 'alice', credentials: [{ type: 'token', sha256: tokenSha256(ALICE_TOKEN) }] },
        {
          name: 'bob',
          kind: 'service',
          credentials: [
            { type: 'token', sha256: tokenSha256(BOB_TOKEN) },
            { type: 'mysql_native_password', hash: nativePasswordHash(BOB_TOKEN) },
          ],
        },
      ],
    },
  });
  relay = await startProxyRelay(gw.port('my-remote'), REMOTE_IP);
});

afterAll(async () => {
  await relay.close();
  await gw.stop();
  await admin.end();
  rmSync(cert.dir, { recursive: true, force: true });
  Reflect.deleteProperty(process.env, PASS_ENV);
});

describe('mysql auth: gateway — caching_sha2_password over TLS', () => {
  it('the mariadb CLI with --default-auth=caching_sha2_password signs in over TLS', async () => {
    const r = await mariadb(gw.port('my-tls'), 'alice', ALICE_TOKEN, [
      '--ssl',
      '--default-auth=caching_sha2_password',
    ]);
    expect(r).toEqual({ code: 0, out: `${APP_USER}@%` });
  });

  it('mysql2 over TLS (no cleartext plugin configured) signs in with caching_sha2_password', async () => {
    const rows = await currentUser(await mysql2(gw.port('my-tls'), 'alice', ALICE_TOKEN, true));
    expect(rows).toEqual([{ u: `${APP_USER}@%` }]);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'db-login').some(
        (x) => field(x, 'listener.name') === 'my-tls' && field(x, 'event.outcome') === 'success',
      ),
    );
    const login = byAction(evs, 'db-login').find(
      (x) => field(x, 'listener.name') === 'my-tls' && field(x, 'event.outcome') === 'success',
    ) as JsonObject;
    expect(field(login, 'user.name')).toBe('alice');
    expect(field(login, 'db.user')).toBe(APP_USER);
  });

  it('a wrong token over TLS: ERR 1045, recorded as a caching_sha2_password failure', async () => {
    const r = await mariadb(gw.port('my-tls'), 'alice', 'tok-wrong', [
      '--ssl',
      '--default-auth=caching_sha2_password',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/1045.*Access denied for user 'alice'/);
    const err = await failureOf(mysql2(gw.port('my-tls'), 'alice', 'tok-wrong-2', true));
    expect(err).toMatch(/Access denied for user 'alice'/);
    const evs = await gw.waitForEvents(
      (e) => failedLogins(e, 'my-tls', 'wrong token').length === 2,
    );
    for (const failed of failedLogins(evs, 'my-tls', 'wrong token')) {
      expect(field(failed, 'event.outcome')).toBe('failure');
      expect(field(failed, 'db.login.auth_plugin')).toBe('caching_sha2_password');
      expect(field(failed, 'db.response.error_number')).toBe(1045);
      expect(field(failed, 'user.name')).toBe('alice');
    }
  });
});

describe('mysql auth: gateway — mysql_native_password off loopback', () => {
  it('bob (a stored native hash) signs in from 10.9.8.7 with mysql2 and the mariadb CLI', async () => {
    const rows = await currentUser(await mysql2(relay.port, 'bob', BOB_TOKEN, false));
    expect(rows).toEqual([{ u: `${APP_USER}@%` }]);
    const r = await mariadb(relay.port, 'bob', BOB_TOKEN, [
      '--skip-ssl',
      '--default-auth=mysql_native_password',
    ]);
    expect(r).toEqual({ code: 0, out: `${APP_USER}@%` });
    const evs = await gw.waitForEvents(
      (e) =>
        byAction(e, 'db-login').filter(
          (x) =>
            field(x, 'listener.name') === 'my-remote' && field(x, 'event.outcome') === 'success',
        ).length === 2,
    );
    const login = byAction(evs, 'db-login').find(
      (x) => field(x, 'listener.name') === 'my-remote',
    ) as JsonObject;
    expect(field(login, 'user.name')).toBe('bob');
    expect(field(login, 'source.ip')).toBe(REMOTE_IP);
  });

  it('a wrong token, and alice without a native hash, are refused with ERR 1045 and recorded', async () => {
    const wrong = await failureOf(mysql2(relay.port, 'bob', 'tok-wrong', false));
    expect(wrong).toMatch(new RegExp(`Access denied for user 'bob'@'${REMOTE_IP}'`));
    const noHash = await failureOf(mysql2(relay.port, 'alice', ALICE_TOKEN, false));
    expect(noHash).toMatch(/Access denied for user 'alice'/);
    const evs = await gw.waitForEvents(
      (e) =>
        failedLogins(e, 'my-remote', 'wrong token').length === 1 &&
        failedLogins(
          e,
          'my-remote',
          'no mysql_native_password credential, and the token in clear needs client TLS or loopback',
        ).length === 1,
    );
    const failed = failedLogins(evs, 'my-remote', 'wrong token')[0] as JsonObject;
    expect(field(failed, 'db.login.auth_plugin')).toBe('mysql_native_password');
    expect(field(failed, 'user.name')).toBe('bob');
  });

  it('no token in any record', () => {
    const text = gw
      .events()
      .map((e) => JSON.stringify(e))
      .join('\n');
    for (const secret of [ALICE_TOKEN, BOB_TOKEN, APP_PASS, nativePasswordHash(BOB_TOKEN)])
      expect(text).not.toContain(secret);
  });
});
