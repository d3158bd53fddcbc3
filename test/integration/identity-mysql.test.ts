/**
 * MySQL/MariaDB with listener `auth: gateway`, the real mariadb CLI and mysql2 against the
 * local MariaDB: the client signs in as a portwarden identity with its token over
 * mysql_clear_password (loopback); the gateway logs in to the target as the mapped user with
 * mysql_native_password. Records name the person while `current_user()` is the mapped user;
 * a wrong token and a target that refuses the gateway are answered with ERR 1045; no token in
 * any record.
 */
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mysql from 'mysql2/promise';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { tokenSha256 } from '../../src/identity/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { run } from '../helpers/run.js';
import { selfSignedCert } from '../helpers/tls-cert.js';

const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const APP_USER = 'pw_app';
// Fixed, so that concurrent runs of this file agree on the test account's password.
const APP_PASS = 'pw-app-test-7f3c1e9a';
const PASS_ENV = `PW_TEST_MY_PASS_${process.pid}`;
const WRONG_ENV = `PW_TEST_MY_WRONG_${process.pid}`;
let gw: TestGateway;
let admin: mysql.Connection;
let certDir: string;
let logText = '';

const log = pino(
  { level: 'trace' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      logText += chunk.toString();
      done();
    },
  }),
);

function listener(name: string, passwordEnv: string): Record<string, unknown> {
  return {
    name,
    listen: '127.0.0.1:0',
    target: '127.0.0.1:3306',
    protocol: 'mysql',
    auth: 'gateway',
    upstream_user: APP_USER,
    upstream_password_env: passwordEnv,
  };
}

function mariadb(port: number, user: string, password: string, sql: string): Promise<string> {
  return run(
    'mariadb',
    [
      '-h',
      '127.0.0.1',
      '-P',
      String(port),
      '-u',
      user,
      `-p${password}`,
      '-N',
      '-B',
      'test',
      '-e',
      sql,
    ],
    { timeoutMs: 15_000 },
  );
}

function failureOf(p: Promise<unknown>): Promise<string> {
  return p.then(
    () => 'succeeded',
    (e: unknown) => String(e),
  );
}

function mysql2(port: number, user: string, password: string): Promise<mysql.Connection> {
  return mysql.createConnection({
    host: '127.0.0.1',
    port,
    user,
    database: 'test',
    authPlugins: {
      mysql_clear_password: () => () => Buffer.from(`${password}\0`),
    },
  });
}

function allText(): string {
  return gw
    .events()
    .map((e) => JSON.stringify(e))
    .join('\n');
}

beforeAll(async () => {
  admin = await mysql.createConnection({ host: '127.0.0.1', port: 3306, user: 'root' });
  await admin.query(`CREATE USER IF NOT EXISTS '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASS}'`);
  await admin.query(`ALTER USER '${APP_USER}'@'%' IDENTIFIED BY '${APP_PASS}'`);
  await admin.query(`GRANT SELECT ON test.* TO '${APP_USER}'@'%'`);
  process.env[PASS_ENV] = APP_PASS;
  process.env[WRONG_ENV] = 'not-the-password';
  certDir = (await selfSignedCert('localhost')).dir;
  gw = await startGateway({
    listeners: [
      listener('my', PASS_ENV),
      listener('my-wrong-target', WRONG_ENV),
      {
        ...listener('my-tls', PASS_ENV),
        tls: { cert: join(certDir, 'cert.pem'), key: join(certDir, 'key.pem') },
      },
    ],
    gatewayOptions: { log },
    extra: {
      identities: [
        {
          name: 'alice',
          groups: ['dba'],
          credentials: [{ type: 'token', sha256: tokenSha256(TOKEN) }],
        },
      ],
    },
  });
});

afterAll(async () => {
  await gw.stop();
  await admin.end();
  rmSync(certDir, { recursive: true, force: true });
  Reflect.deleteProperty(process.env, PASS_ENV);
  Reflect.deleteProperty(process.env, WRONG_ENV);
});

describe('mysql auth: gateway', () => {
  it('mariadb CLI signs in as alice; the target sees pw_app; records name alice', async () => {
    const out = await mariadb(gw.port('my'), 'alice', TOKEN, 'select current_user()');
    expect(out.trim()).toBe(`${APP_USER}@%`);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'db-result').some((x) => field(x, 'listener.name') === 'my'),
    );
    const login = byAction(evs, 'db-login').find(
      (x) => field(x, 'listener.name') === 'my' && field(x, 'event.outcome') === 'success',
    ) as JsonObject;
    expect(login).toBeDefined();
    expect(field(login, 'user.name')).toBe('alice');
    expect(field(login, 'db.user')).toBe(APP_USER);
    const query = byAction(evs, 'db-query').find(
      (x) => field(x, 'db.query.text') === 'select current_user()',
    ) as JsonObject;
    expect(field(query, 'user.name')).toBe('alice');
    expect(field(query, 'user.roles')).toEqual(['dba']);
    expect(field(query, 'db.user')).toBe(APP_USER);
    expect(field(query, 'db.namespace')).toBe('test');
  });

  it('the CLI with --default-auth=mysql_clear_password (token in the first response) works too', async () => {
    const out = await run(
      'mariadb',
      [
        '-h',
        '127.0.0.1',
        '-P',
        String(gw.port('my')),
        '-u',
        'alice',
        `-p${TOKEN}`,
        '--default-auth=mysql_clear_password',
        '-N',
        '-B',
        '-e',
        'select 41 + 1',
      ],
      { timeoutMs: 15_000 },
    );
    expect(out.trim()).toBe('42');
  });

  it('mysql2 signs in with a mysql_clear_password plugin; queries run as pw_app', async () => {
    const conn = await mysql2(gw.port('my'), 'alice', TOKEN);
    try {
      const [rows] = await conn.query('select current_user() as u, 6 * 7 as n');
      expect(rows).toEqual([{ u: `${APP_USER}@%`, n: 42 }]);
      const [again] = await conn.execute('select ? + 1 as n', [1]);
      expect(again).toEqual([{ n: 2 }]);
    } finally {
      await conn.end();
    }
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'db-query').some((x) => field(x, 'db.query.text') === 'select ? + 1 as n'),
    );
    const q = byAction(evs, 'db-query').find(
      (x) => field(x, 'db.query.text') === 'select current_user() as u, 6 * 7 as n',
    ) as JsonObject;
    expect(field(q, 'user.name')).toBe('alice');
    expect(field(q, 'db.user')).toBe(APP_USER);
  });

  it('over a TLS client leg: SSLRequest, then the same sign-in inside TLS', async () => {
    const out = await run(
      'mariadb',
      [
        '-h',
        '127.0.0.1',
        '-P',
        String(gw.port('my-tls')),
        '-u',
        'alice',
        `-p${TOKEN}`,
        '--ssl',
        '--skip-ssl-verify-server-cert',
        '-N',
        '-B',
        'test',
        '-e',
        "select current_user(), variable_value from information_schema.session_status where variable_name = 'Ssl_cipher'",
      ],
      { timeoutMs: 15_000 },
    );
    // The target leg is plain (TLS ends at the gateway), so the server sees no cipher.
    expect(out.trim().split('\t')[0]).toBe(`${APP_USER}@%`);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'db-login').some(
        (x) => field(x, 'listener.name') === 'my-tls' && field(x, 'event.outcome') === 'success',
      ),
    );
    const login = byAction(evs, 'db-login').find(
      (x) => field(x, 'listener.name') === 'my-tls',
    ) as JsonObject;
    expect(field(login, 'user.name')).toBe('alice');
    expect(field(login, 'tls.established')).toBe(true);
  });

  it("COM_CHANGE_USER (a target account of the client's own) is refused and recorded, never forwarded", async () => {
    const conn = await mysql2(gw.port('my'), 'alice', TOKEN);
    const err = await failureOf(conn.changeUser({ user: 'root', password: '' }));
    conn.destroy();
    expect(err).toMatch(/COM_CHANGE_USER is refused behind auth: gateway/);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'db-login').some((x) => field(x, 'db.login.change_user') === true),
    );
    const refused = byAction(evs, 'db-login').find(
      (x) => field(x, 'db.login.change_user') === true,
    ) as JsonObject;
    expect(field(refused, 'event.outcome')).toBe('failure');
    expect(field(refused, 'user.name')).toBe('alice');
    expect(field(refused, 'db.user')).toBe('root');
  });

  it('a wrong token is refused with ERR 1045 (28000) and recorded with its reason', async () => {
    const err = await failureOf(mariadb(gw.port('my'), 'alice', 'tok-wrong', 'select 1'));
    expect(err).toMatch(/1045/);
    expect(err).toMatch(/Access denied for user 'alice'/);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'db-login').some((x) => field(x, 'event.reason') === 'wrong token'),
    );
    const failed = byAction(evs, 'db-login').find(
      (x) => field(x, 'event.reason') === 'wrong token',
    ) as JsonObject;
    expect(field(failed, 'event.outcome')).toBe('failure');
    expect(field(failed, 'event.type')).toEqual(['start', 'denied']);
    expect(field(failed, 'user.name')).toBe('alice');
    expect(field(failed, 'db.response.error_number')).toBe(1045);
    expect(field(failed, 'db.response.status_code')).toBe('28000');

    const unknown = await failureOf(mysql2(gw.port('my'), 'mallory', TOKEN));
    expect(unknown).toMatch(/Access denied for user 'mallory'/);
  });

  it('a target that refuses the gateway login: ERR 1045 to the client, recorded', async () => {
    const err = await failureOf(mariadb(gw.port('my-wrong-target'), 'alice', TOKEN, 'select 1'));
    expect(err).toMatch(/1045/);
    expect(err).toMatch(/portwarden could not sign in to the target/);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'connection-close').some((x) => field(x, 'listener.name') === 'my-wrong-target'),
    );
    const failed = byAction(evs, 'db-login').find(
      (x) => field(x, 'listener.name') === 'my-wrong-target',
    ) as JsonObject;
    expect(field(failed, 'event.outcome')).toBe('failure');
    expect(String(field(failed, 'event.reason'))).toMatch(
      /^target sign-in failed: .*Access denied/,
    );
    expect(field(failed, 'user.name')).toBe('alice');
    expect(
      byAction(evs, 'db-query').filter((x) => field(x, 'listener.name') === 'my-wrong-target'),
    ).toEqual([]);
  });

  it('neither the token nor the target password is in any record or log line', () => {
    const text = allText();
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(APP_PASS);
    expect(logText.length).toBeGreaterThan(0);
    expect(logText).not.toContain(TOKEN);
    expect(logText).not.toContain(APP_PASS);
  });
});
