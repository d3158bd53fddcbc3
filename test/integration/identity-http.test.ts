/**
 * HTTP with listener `auth: gateway`, real curl: a JWT signed by a test key (JWKS file) or a
 * static token is verified by the gateway; the target sees only the configured upstream
 * header. Wrong token and expired JWT get 401 natively and are recorded without the secret.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { tokenSha256 } from '../../src/identity/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { run } from '../helpers/run.js';

const TOKEN = `svc-${randomBytes(16).toString('hex')}`;
const UPSTREAM_KEY = randomBytes(12).toString('hex');
const KEY_ENV = `PW_TEST_HTTP_KEY_${process.pid}`;
let gw: TestGateway;
let target: http.Server;
let dir: string;
let goodJwt: string;
let expiredJwt: string;
const seen: { authorization?: string; apiKey?: string }[] = [];

async function curl(token: string, path = '/orders'): Promise<{ status: number; body: string }> {
  const out = await run('curl', [
    '-s',
    '-H',
    `Authorization: Bearer ${token}`,
    '-w',
    '\n%{http_code}',
    `http://127.0.0.1:${gw.port('api')}${path}`,
  ]);
  const at = out.lastIndexOf('\n');
  return { status: Number(out.slice(at + 1)), body: out.slice(0, at) };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pw-jwks-'));
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'test-1', alg: 'ES256' };
  writeFileSync(join(dir, 'jwks.json'), JSON.stringify({ keys: [jwk] }));
  const sign = (exp: number): Promise<string> =>
    new SignJWT({ groups: ['eng'] })
      .setProtectedHeader({ alg: 'ES256', kid: 'test-1' })
      .setSubject('alice')
      .setAudience('portwarden')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(privateKey);
  const now = Math.floor(Date.now() / 1000);
  goodJwt = await sign(now + 3600);
  expiredJwt = await sign(now - 60);
  target = http.createServer((req, res) => {
    seen.push({
      ...(req.headers.authorization === undefined
        ? {}
        : { authorization: req.headers.authorization }),
      ...(typeof req.headers['x-api-key'] === 'string' ? { apiKey: req.headers['x-api-key'] } : {}),
    });
    res.end('ok');
  });
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  process.env[KEY_ENV] = UPSTREAM_KEY;
  gw = await startGateway({
    listeners: [
      {
        name: 'api',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${(target.address() as AddressInfo).port}`,
        protocol: 'http',
        auth: 'gateway',
        upstream_header: { name: 'X-Api-Key', value_env: KEY_ENV },
      },
    ],
    extra: {
      identities: [
        {
          name: 'alice',
          groups: ['staff'],
          credentials: [{ type: 'jwt', jwks_file: join(dir, 'jwks.json'), audience: 'portwarden' }],
        },
        {
          name: 'billing-svc',
          kind: 'service',
          credentials: [{ type: 'token', sha256: tokenSha256(TOKEN) }],
        },
      ],
    },
  });
});

afterAll(async () => {
  await gw.stop();
  await new Promise((r) => target.close(r));
  rmSync(dir, { recursive: true, force: true });
  delete process.env[KEY_ENV];
});

function requestsTo(path: string): JsonObject[] {
  return byAction(gw.events(), 'http-request').filter((e) => field(e, 'url.path') === path);
}

describe('http auth: gateway', () => {
  it('accepts a JWT: the target gets the upstream key, never the JWT; records name alice', async () => {
    const before = seen.length;
    const r = await curl(goodJwt, '/jwt-ok');
    expect(r.status).toBe(200);
    expect(seen.slice(before)).toEqual([{ apiKey: UPSTREAM_KEY }]);
    const evs = await gw.waitForEvents(
      (e) => byAction(e, 'http-response').length > 0 && requestsTo('/jwt-ok').length === 1,
    );
    const req = requestsTo('/jwt-ok')[0] as JsonObject;
    expect(field(req, 'user.name')).toBe('alice');
    expect(field(req, 'user.auth_method')).toBe('jwt');
    expect(field(req, 'user.roles')).toEqual(['staff', 'eng']);
    expect(evs.length).toBeGreaterThan(0);
  });

  it('accepts a static service token', async () => {
    const r = await curl(TOKEN, '/svc');
    expect(r.status).toBe(200);
    await gw.waitForEvents(() => requestsTo('/svc').length === 1);
    const req = requestsTo('/svc')[0] as JsonObject;
    expect(field(req, 'user.name')).toBe('billing-svc');
    expect(field(req, 'user.auth_method')).toBe('token');
  });

  it('answers 401 to an expired JWT and to a wrong token, and records why', async () => {
    const before = seen.length;
    const expired = await curl(expiredJwt, '/expired');
    expect(expired.status).toBe(401);
    expect(expired.body).toContain('jwt expired');
    const wrong = await curl('nope-not-a-token', '/wrong');
    expect(wrong.status).toBe(401);
    expect(seen.length).toBe(before);
    await gw.waitForEvents(
      () => requestsTo('/expired').length === 1 && requestsTo('/wrong').length === 1,
    );
    expect(field(requestsTo('/expired')[0] as JsonObject, 'event.reason')).toBe(
      'sign-in failed: jwt expired',
    );
    expect(field(requestsTo('/wrong')[0] as JsonObject, 'event.reason')).toBe(
      'sign-in failed: unknown token',
    );
  });

  it('keeps every credential out of the records', () => {
    const text = gw
      .events()
      .map((e) => JSON.stringify(e))
      .join('\n');
    for (const secret of [TOKEN, goodJwt, expiredJwt, UPSTREAM_KEY, 'nope-not-a-token'])
      expect(text).not.toContain(secret);
  });
});
