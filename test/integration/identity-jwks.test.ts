/**
 * JWT sign-in against an issuer URL, with real curl through an HTTP `auth: gateway` listener.
 * A local HTTP server plays the issuer: OpenID discovery (`/.well-known/openid-configuration`)
 * and the key set (`/jwks`, `Cache-Control: max-age=1`), keys made with node:crypto. alice's
 * credential names the issuer (discovery), bob's the key set URL. Checked: sign-in accepted,
 * key rotation (a new kid) picked up, expired token and wrong audience refused and recorded,
 * the cached keys kept in use (with a warning) once the issuer is unreachable, and no token in
 * any record or log line.
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, type JWK } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { run } from '../helpers/run.js';

interface TestKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  readonly jwk: JWK;
}

let issuer: http.Server;
let issuerUrl: string;
let target: http.Server;
let gw: TestGateway;
let served: TestKey[] = [];
const fetched: string[] = [];
const logLines: string[] = [];
const tokens: string[] = [];
let k1: TestKey;
let k2: TestKey;

function makeKey(kid: string): TestKey {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' }) as JWK;
  return { kid, privateKey, jwk: { ...jwk, kid, alg: 'ES256', use: 'sig' } };
}

async function sign(
  key: TestKey,
  opts: { sub?: string; aud?: string; exp?: number; iss?: string | null } = {},
): Promise<string> {
  let jwt = new SignJWT({ groups: ['oncall'] })
    .setProtectedHeader({ alg: 'ES256', kid: key.kid })
    .setSubject(opts.sub ?? 'alice')
    .setAudience(opts.aud ?? 'portwarden')
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? Math.floor(Date.now() / 1000) + 3600);
  if (opts.iss !== null) jwt = jwt.setIssuer(opts.iss ?? issuerUrl);
  const token = await jwt.sign(key.privateKey);
  tokens.push(token);
  return token;
}

async function curl(token: string, path: string): Promise<number> {
  const out = await run('curl', [
    '-s',
    '-o',
    '/dev/null',
    '-H',
    `Authorization: Bearer ${token}`,
    '-w',
    '%{http_code}',
    `http://127.0.0.1:${gw.port('app')}${path}`,
  ]);
  return Number(out);
}

/** Poll an async condition until it holds (or fail after `timeoutMs`). */
async function eventually(pred: () => Promise<boolean>, what: string, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function requestsTo(path: string): JsonObject[] {
  return byAction(gw.events(), 'http-request').filter((e) => field(e, 'url.path') === path);
}

beforeAll(async () => {
  k1 = makeKey(`k1-${randomBytes(4).toString('hex')}`);
  k2 = makeKey(`k2-${randomBytes(4).toString('hex')}`);
  served = [k1];
  issuer = http.createServer((req, res) => {
    fetched.push(req.url ?? '');
    res.setHeader('content-type', 'application/json');
    if (req.url === '/.well-known/openid-configuration') {
      res.end(JSON.stringify({ issuer: issuerUrl, jwks_uri: `${issuerUrl}/jwks` }));
    } else if (req.url === '/jwks') {
      res.setHeader('cache-control', 'public, max-age=1');
      res.end(JSON.stringify({ keys: served.map((k) => k.jwk) }));
    } else {
      res.statusCode = 404;
      res.end('{}');
    }
  });
  await new Promise<void>((r) => issuer.listen(0, '127.0.0.1', r));
  issuerUrl = `http://127.0.0.1:${(issuer.address() as AddressInfo).port}`;
  target = http.createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
  const log = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
  gw = await startGateway({
    listeners: [
      {
        name: 'app',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${(target.address() as AddressInfo).port}`,
        protocol: 'http',
        auth: 'gateway',
      },
    ],
    extra: {
      identities: [
        {
          name: 'alice',
          groups: ['staff'],
          credentials: [
            { type: 'jwt', issuer: issuerUrl, audience: 'portwarden', jwks_min_interval: '1s' },
          ],
        },
        {
          name: 'bob',
          credentials: [
            {
              type: 'jwt',
              jwks_url: `${issuerUrl}/jwks`,
              audience: 'portwarden',
              jwks_min_interval: '1s',
            },
          ],
        },
      ],
    },
    gatewayOptions: { log },
  });
});

afterAll(async () => {
  await gw.stop();
  issuer.closeAllConnections();
  await new Promise((r) => issuer.close(r));
  await new Promise((r) => target.close(r));
});

describe('jwt from an issuer URL (http auth: gateway)', () => {
  it('accepts a JWT whose key comes by discovery, and one whose key comes from jwks_url', async () => {
    expect(await curl(await sign(k1), '/alice')).toBe(200);
    expect(await curl(await sign(k1, { sub: 'bob', iss: null }), '/bob')).toBe(200);
    expect(fetched).toContain('/.well-known/openid-configuration');
    expect(fetched).toContain('/jwks');
    await gw.waitForEvents(
      () => requestsTo('/alice').length === 1 && requestsTo('/bob').length === 1,
    );
    const alice = requestsTo('/alice')[0] as JsonObject;
    expect(field(alice, 'user.name')).toBe('alice');
    expect(field(alice, 'user.auth_method')).toBe('jwt');
    expect(field(alice, 'user.roles')).toEqual(['staff', 'oncall']);
    expect(field(requestsTo('/bob')[0] as JsonObject, 'user.name')).toBe('bob');
  });

  it('picks up a rotated key (a new kid) from the issuer', async () => {
    served = [k2];
    const rotated = await sign(k2);
    // The first try may fall within jwks_min_interval of the last fetch; then it is refused
    // and a later one refetches.
    await eventually(async () => (await curl(rotated, '/rotated')) === 200, 'the new kid');
    expect(logLines.some((l) => l.includes('key set loaded') && l.includes(k2.kid))).toBe(true);
  });

  it('refuses an expired token and a wrong audience, and records why', async () => {
    const expired = await sign(k2, { exp: Math.floor(Date.now() / 1000) - 60 });
    const wrongAud = await sign(k2, { aud: 'someone-else' });
    expect(await curl(expired, '/expired')).toBe(401);
    expect(await curl(wrongAud, '/wrong-aud')).toBe(401);
    await gw.waitForEvents(
      () => requestsTo('/expired').length === 1 && requestsTo('/wrong-aud').length === 1,
    );
    const exp = requestsTo('/expired')[0] as JsonObject;
    expect(field(exp, 'event.reason')).toBe('sign-in failed: jwt expired');
    expect(field(exp, 'event.outcome')).toBe('failure');
    expect(field(requestsTo('/wrong-aud')[0] as JsonObject, 'event.reason')).toBe(
      'sign-in failed: jwt claim aud invalid',
    );
  });

  it('keeps using the cached keys, with a warning, when the issuer is unreachable', async () => {
    const good = await sign(k2);
    issuer.closeAllConnections();
    await new Promise((r) => issuer.close(r));
    // max-age=1: the cached set expires within a second; the next sign-in refetches, fails,
    // and verifies with the cached keys.
    await eventually(async () => {
      expect(await curl(good, '/offline')).toBe(200);
      return logLines.some((l) => l.includes('refresh failed; using the cached keys'));
    }, 'a failed refresh');
    expect(await curl(good, '/offline')).toBe(200);
    const warning = logLines.find((l) => l.includes('refresh failed')) ?? '';
    expect(JSON.parse(warning)).toMatchObject({ level: 40, jwks: `${issuerUrl} (discovery)` });
    // A key the cache lacks cannot be fetched now: refused.
    const k3 = makeKey('k3-unknown');
    expect(await curl(await sign(k3), '/unknown-kid')).toBe(401);
  });

  it('keeps every token out of the records and the log', async () => {
    await gw.waitForEvents(() => requestsTo('/unknown-kid').length === 1);
    const text = gw
      .events()
      .map((e) => JSON.stringify(e))
      .join('\n');
    const log = logLines.join('');
    for (const t of tokens) {
      expect(text).not.toContain(t);
      expect(log).not.toContain(t);
      // Not even the signature part on its own.
      const sig = t.split('.')[2] ?? '';
      expect(text).not.toContain(sig);
    }
  });
});
