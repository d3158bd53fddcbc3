/**
 * PostgreSQL `auth: gateway` with SCRAM-SHA-256-PLUS on a TLS client leg, real psql and pg:
 * `channel_binding=require` signs in (the binding is the gateway certificate's
 * tls-server-end-point hash); a TLS-terminating middlebox with its own certificate in front
 * of the gateway makes the client bind to the wrong certificate, which the gateway refuses
 * with 28P01 and records. No token in any record.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { formatScramVerifier, scramVerifierFor } from '../../src/protocols/postgres/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runToExit } from '../helpers/run.js';
import { selfSignedCert, type TestCert } from '../helpers/tls-cert.js';

const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const ROLE = `pw_plus_${process.pid}`;
const ROLE_PASS = randomBytes(16).toString('hex');
const PASS_ENV = `PW_TEST_PG_PLUS_${process.pid}`;
const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);

let gw: TestGateway;
let admin: pg.Client;
let gwCert: TestCert;
let mitmCert: TestCert;
let mitm: net.Server;
const mitmSockets = new Set<net.Socket>();

/**
 * A middlebox that terminates the client's TLS with its own certificate and opens its own
 * TLS session to the gateway: what channel binding exists to catch.
 */
function startMitm(target: number, cert: TestCert): Promise<net.Server> {
  const context = tls.createSecureContext({
    cert: readFileSync(cert.cert),
    key: readFileSync(cert.key),
  });
  const server = net.createServer((client) => {
    mitmSockets.add(client);
    client.once('data', () => {
      // The client's SSLRequest: accept it, then speak TLS as the "server".
      client.write('S');
      const front = new tls.TLSSocket(client, { isServer: true, secureContext: context });
      const up = net.connect(target, '127.0.0.1', () => up.write(SSL_REQUEST));
      mitmSockets.add(up);
      up.once('data', () => {
        const back = tls.connect({ socket: up, rejectUnauthorized: false });
        front.pipe(back).pipe(front);
        back.on('error', () => front.destroy());
        front.on('error', () => back.destroy());
      });
      up.on('error', () => client.destroy());
    });
    client.on('error', () => undefined);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

function portOf(server: net.Server): number {
  const a = server.address();
  if (a === null || typeof a !== 'object') throw new Error('no address');
  return a.port;
}

function psql(port: number, extra: string): Promise<{ code: number; out: string }> {
  return runToExit('env', [
    `PGPASSWORD=${TOKEN}`,
    'psql',
    `host=127.0.0.1 port=${port} user=alice dbname=test ${extra}`,
    '-Atc',
    'select current_user',
  ]).then((r) => ({ code: r.code, out: r.stdout + r.stderr }));
}

function pgClient(port: number): pg.Client {
  return new pg.Client({
    host: '127.0.0.1',
    port,
    user: 'alice',
    password: TOKEN,
    database: 'test',
    ssl: { rejectUnauthorized: false },
    enableChannelBinding: true,
  });
}

beforeAll(async () => {
  admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASS}'`);
  process.env[PASS_ENV] = ROLE_PASS;
  gwCert = await selfSignedCert('localhost');
  mitmCert = await selfSignedCert('middlebox');
  gw = await startGateway({
    listeners: [
      {
        name: 'pg-plus',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:5432',
        protocol: 'postgres',
        auth: 'gateway',
        upstream_user: ROLE,
        upstream_password_env: PASS_ENV,
        tls: { cert: gwCert.cert, key: gwCert.key },
      },
    ],
    extra: {
      identities: [
        {
          name: 'alice',
          groups: ['dba'],
          credentials: [
            { type: 'scram_sha256', verifier: formatScramVerifier(scramVerifierFor(TOKEN)) },
          ],
        },
      ],
    },
  });
  mitm = await startMitm(gw.port('pg-plus'), mitmCert);
});

afterAll(async () => {
  for (const s of mitmSockets) s.destroy();
  await new Promise((resolve) => mitm.close(resolve));
  await gw.stop();
  await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
  await admin.end();
  Reflect.deleteProperty(process.env, PASS_ENV);
  rmSync(gwCert.dir, { recursive: true, force: true });
  rmSync(mitmCert.dir, { recursive: true, force: true });
});

describe('postgres auth: gateway — SCRAM-SHA-256-PLUS', () => {
  it('psql with channel_binding=require signs in; the record names alice', async () => {
    const r = await psql(gw.port('pg-plus'), 'sslmode=require channel_binding=require');
    expect(r).toEqual({ code: 0, out: `${ROLE}\n` });
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'db-login').some((x) => field(x, 'event.outcome') === 'success'),
    );
    const login = byAction(evs, 'db-login').find(
      (x) => field(x, 'event.outcome') === 'success',
    ) as JsonObject;
    expect(field(login, 'user.name')).toBe('alice');
    expect(field(login, 'user.auth_method')).toBe('token');
    expect(field(login, 'db.user')).toBe(ROLE);
    expect(field(login, 'tls.established')).toBe(true);
  });

  it('pg with enableChannelBinding signs in over SCRAM-SHA-256-PLUS', async () => {
    const c = pgClient(gw.port('pg-plus'));
    await c.connect();
    try {
      const res = await c.query<{ u: string }>('select current_user as u');
      expect(res.rows).toEqual([{ u: ROLE }]);
    } finally {
      await c.end();
    }
  });

  it('a middlebox certificate in between: the binding does not match, 28P01, recorded', async () => {
    const c = pgClient(portOf(mitm));
    const err = await c.connect().then(
      () => null,
      (e: unknown) => e as { code?: string; message?: string },
    );
    await c.end().catch(() => undefined);
    expect(err?.code).toBe('28P01');
    expect(err?.message).toBe('password authentication failed for user "alice"');
    const r = await psql(portOf(mitm), 'sslmode=require channel_binding=require');
    expect(r.code).not.toBe(0);
    expect(r.out).toMatch(/password authentication failed for user "alice"/);
    const evs = await gw.waitForEvents(
      (e) =>
        byAction(e, 'db-login').filter(
          (x) => field(x, 'event.reason') === 'channel binding does not match',
        ).length === 2,
    );
    const refused = byAction(evs, 'db-login').find(
      (x) => field(x, 'event.reason') === 'channel binding does not match',
    ) as JsonObject;
    expect(field(refused, 'event.outcome')).toBe('failure');
    expect(field(refused, 'user.name')).toBe('alice');
    expect(field(refused, 'db.response.status_code')).toBe('28P01');
  });

  it('no token in any record', () => {
    const text = gw
      .events()
      .map((e) => JSON.stringify(e))
      .join('\n');
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(ROLE_PASS);
  });
});
