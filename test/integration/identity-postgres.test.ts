/**
 * PostgreSQL with listener `auth: gateway`, real psql and pg against the local PostgreSQL:
 * the client signs in as a portwarden identity (SCRAM-SHA-256 with a stored verifier, or a
 * cleartext token on loopback); the gateway logs in to the target as the mapped role.
 * Records name the person while `current_user` is the mapped role; no token anywhere.
 * A second gateway in front of the first (whose sign-in is SCRAM) exercises the gateway's
 * own SCRAM client login toward a target; a grant expiring mid-session denies the next query.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import pg from 'pg';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { tokenSha256, writeGrantRequest } from '../../src/identity/index.js';
import { compilePolicies } from '../../src/policy/index.js';
import { formatScramVerifier, scramVerifierFor } from '../../src/protocols/postgres/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitForRecord } from '../helpers/records.js';
import { run } from '../helpers/run.js';

const ALICE_TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const DAVE_TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const BOB_TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const ROLE = `pw_gw_${process.pid}`;
const ROLE_PASS = randomBytes(16).toString('hex');
const PASS_ENV = `PW_TEST_PG_PASS_${process.pid}`;
const BOB_ENV = `PW_TEST_PG_BOB_${process.pid}`;
let front: TestGateway;
let back: TestGateway;
let admin: pg.Client;
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

function psql(port: number, user: string, password: string, sql: string): Promise<string> {
  return run(
    'env',
    [
      `PGPASSWORD=${password}`,
      'psql',
      `host=127.0.0.1 port=${port} user=${user} dbname=test sslmode=disable`,
      '-Atc',
      sql,
    ],
    { timeoutMs: 15_000 },
  );
}

function pgClient(port: number, user: string, password: string): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user, password, database: 'test' });
}

function allText(gw: TestGateway): string {
  return gw
    .events()
    .map((e) => JSON.stringify(e))
    .join('\n');
}

function pgListener(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    listen: '127.0.0.1:0',
    target: '127.0.0.1:5432',
    protocol: 'postgres',
    auth: 'gateway',
    upstream_user: ROLE,
    upstream_password_env: PASS_ENV,
    ...extra,
  };
}

beforeAll(async () => {
  admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await admin.connect();
  await admin.query(`CREATE ROLE ${ROLE} LOGIN PASSWORD '${ROLE_PASS}'`);
  process.env[PASS_ENV] = ROLE_PASS;
  process.env[BOB_ENV] = BOB_TOKEN;
  const policies = {
    jit: { default: 'deny', rules: [{ id: 'jit', allow: { grant: 'required' } }] },
  };
  const compiled = compilePolicies(policies);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  back = await startGateway({
    listeners: [pgListener('pg-back')],
    extra: {
      identities: [
        {
          name: 'bob',
          kind: 'service',
          credentials: [
            { type: 'scram_sha256', verifier: formatScramVerifier(scramVerifierFor(BOB_TOKEN)) },
          ],
        },
      ],
    },
  });
  front = await startGateway({
    listeners: [
      pgListener('pg'),
      pgListener('pg-jit', { policy: 'jit', on_grant_expiry: 'deny' }),
      pgListener('pg-chain', {
        target: `127.0.0.1:${back.port('pg-back')}`,
        upstream_user: 'bob',
        upstream_password_env: BOB_ENV,
      }),
    ],
    policies,
    gatewayOptions: { policies: compiled.policies, log },
    extra: {
      identities: [
        {
          name: 'alice',
          groups: ['dba'],
          credentials: [
            { type: 'token', sha256: tokenSha256(ALICE_TOKEN) },
            { type: 'scram_sha256', verifier: formatScramVerifier(scramVerifierFor(ALICE_TOKEN)) },
          ],
        },
        { name: 'dave', credentials: [{ type: 'token', sha256: tokenSha256(DAVE_TOKEN) }] },
      ],
    },
  });
});

afterAll(async () => {
  await front.stop();
  await back.stop();
  await admin.query(`DROP ROLE IF EXISTS ${ROLE}`);
  await admin.end();
  delete process.env[PASS_ENV];
  delete process.env[BOB_ENV];
});

describe('postgres auth: gateway', () => {
  it('psql signs alice in with SCRAM; the target sees the mapped role; records name alice', async () => {
    const out = await psql(front.port('pg'), 'alice', ALICE_TOKEN, 'select current_user');
    expect(out.trim()).toBe(ROLE);
    const evs = await front.waitForEvents((e) =>
      byAction(e, 'db-result').some((x) => field(x, 'listener.name') === 'pg'),
    );
    const login = byAction(evs, 'db-login').find(
      (x) => field(x, 'listener.name') === 'pg' && field(x, 'event.outcome') === 'success',
    ) as JsonObject;
    expect(field(login, 'user.name')).toBe('alice');
    expect(field(login, 'user.roles')).toEqual(['dba']);
    expect(field(login, 'db.user')).toBe(ROLE);
    expect(field(login, 'db.namespace')).toBe('test');
    const query = byAction(evs, 'db-query').find(
      (x) => field(x, 'db.query.text') === 'select current_user',
    ) as JsonObject;
    expect(field(query, 'user.name')).toBe('alice');
    expect(field(query, 'db.user')).toBe(ROLE);
  });

  it('pg signs dave in with a cleartext token on loopback', async () => {
    const c = pgClient(front.port('pg'), 'dave', DAVE_TOKEN);
    await c.connect();
    try {
      const r = await c.query<{ u: string }>('select current_user as u, $1::int as n', [7]);
      expect(r.rows[0]?.u).toBe(ROLE);
    } finally {
      await c.end();
    }
    const q = await waitForRecord(front, 'db-query', (x) => field(x, 'user.name') === 'dave');
    expect(field(q, 'db.user')).toBe(ROLE);
  });

  it('refuses a wrong token with 28P01 (SCRAM and cleartext), unknown names too, and records why', async () => {
    await expect(psql(front.port('pg'), 'alice', 'not-the-token', 'select 1')).rejects.toThrow(
      /password authentication failed for user "alice"/,
    );
    const c = pgClient(front.port('pg'), 'dave', 'not-the-token-either');
    const err = await c.connect().then(
      () => null,
      (e: unknown) => e as { code?: string },
    );
    expect(err?.code).toBe('28P01');
    await expect(psql(front.port('pg'), 'mallory', 'whatever', 'select 1')).rejects.toThrow(
      /password authentication failed/,
    );
    const evs = await front.waitForEvents(
      (e) =>
        byAction(e, 'db-login').filter((x) => field(x, 'event.outcome') === 'failure').length >= 3,
    );
    const failures = byAction(evs, 'db-login').filter(
      (x) => field(x, 'event.outcome') === 'failure',
    );
    const why = failures.map((x) => [field(x, 'user.name'), field(x, 'event.reason')]);
    expect(why).toEqual(
      expect.arrayContaining([
        ['alice', 'wrong token'],
        ['dave', 'wrong token'],
        ['mallory', 'unknown identity'],
      ]),
    );
    for (const f of failures) expect(field(f, 'db.response.status_code')).toBe('28P01');
    const text = allText(front);
    expect(text).not.toContain('not-the-token');
  });

  it('logs in to a target that asks for SCRAM-SHA-256 (a second gateway) as the mapped identity', async () => {
    const out = await psql(front.port('pg-chain'), 'alice', ALICE_TOKEN, 'select current_user');
    expect(out.trim()).toBe(ROLE);
    const q = await waitForRecord(back, 'db-query', (x) => field(x, 'user.name') === 'bob');
    expect(field(q, 'user.auth_method')).toBe('token');
    const fq = await waitForRecord(
      front,
      'db-query',
      (x) => field(x, 'listener.name') === 'pg-chain',
    );
    expect(field(fq, 'user.name')).toBe('alice');
    expect(field(fq, 'db.user')).toBe('bob');
  });

  it('a target that refuses the gateway login: FATAL to the client, recorded, session closed', async () => {
    const saved = process.env[BOB_ENV];
    process.env[BOB_ENV] = 'wrong-upstream-password';
    try {
      await expect(psql(front.port('pg-chain'), 'alice', ALICE_TOKEN, 'select 1')).rejects.toThrow(
        /portwarden could not sign in to the target/,
      );
    } finally {
      process.env[BOB_ENV] = saved;
    }
    const evs = await front.waitForEvents((e) =>
      byAction(e, 'db-login').some(
        (x) =>
          field(x, 'listener.name') === 'pg-chain' &&
          String(field(x, 'event.reason')).startsWith('target sign-in failed'),
      ),
    );
    const failed = byAction(evs, 'db-login').find((x) =>
      String(field(x, 'event.reason')).startsWith('target sign-in failed'),
    ) as JsonObject;
    expect(field(failed, 'user.name')).toBe('alice');
    expect(field(failed, 'db.response.status_code')).toBe('28P01');
    expect(allText(front)).not.toContain('wrong-upstream-password');
  });

  it('on_grant_expiry: deny — a grant that runs out mid-session denies the next statement', async () => {
    const c = pgClient(front.port('pg-jit'), 'alice', ALICE_TOKEN);
    await c.connect();
    try {
      await expect(c.query('select 1')).rejects.toMatchObject({ code: '42501' });
      writeGrantRequest(front.dataDir, {
        change: 'create',
        id: randomUUID(),
        identity: 'alice',
        listener: 'pg-jit',
        expires: new Date(Date.now() + 3000).toISOString(),
        reason: 'INC-1234',
        operations: [],
        granted_by: 'test',
      });
      const deadline = Date.now() + 8000;
      let allowed = false;
      while (!allowed && Date.now() < deadline) {
        allowed = await c.query('select 1').then(
          () => true,
          () => false,
        );
        if (!allowed) await new Promise((r) => setTimeout(r, 100));
      }
      expect(allowed).toBe(true);
      let denied: unknown = null;
      while (denied === null && Date.now() < deadline + 4000) {
        denied = await c.query('select 2').then(
          () => null,
          (e: unknown) => e,
        );
        if (denied === null) await new Promise((r) => setTimeout(r, 100));
      }
      expect(denied).toMatchObject({ code: '42501' });
      // The session stays open: a later statement is answered (denied again), not cut off.
      await expect(c.query('select 3')).rejects.toMatchObject({ code: '42501' });
    } finally {
      await c.end();
    }
  });

  it('keeps every token and the upstream password out of records and logs', () => {
    for (const gw of [front, back]) {
      const text = allText(gw);
      for (const secret of [ALICE_TOKEN, DAVE_TOKEN, BOB_TOKEN, ROLE_PASS]) {
        expect(text).not.toContain(secret);
      }
    }
    expect(logText.length).toBeGreaterThan(0);
    for (const secret of [ALICE_TOKEN, DAVE_TOKEN, BOB_TOKEN, ROLE_PASS])
      expect(logText).not.toContain(secret);
  });
});
