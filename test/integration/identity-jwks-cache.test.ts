/**
 * The remote key set cache against a real local HTTP issuer, with a fake clock: lifetime from
 * Cache-Control within bounds, refetch on an unknown kid at most once per min interval, stale
 * keys kept (24 h at most) when the issuer fails, one fetch for concurrent callers, discovery's
 * issuer check, bounded responses, timeouts, no redirects; and the config rules for the URLs.
 */
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { JWK } from 'jose';
import { pino } from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parseConfigText } from '../../src/config/index.js';
import { cacheMaxAge } from '../../src/identity/jwks-fetch.js';
import { MAX_STALE_MS, MAX_TTL_MS, RemoteJwks } from '../../src/identity/jwks-remote.js';
import { jwksUrlProblem } from '../../src/identity/jwks-url.js';

type Reply = (res: http.ServerResponse) => void;

let server: http.Server;
let base: string;
let reply: Reply;
let hits: string[] = [];
let clock = 1_000_000;
const lines: string[] = [];
const log = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });

function jwk(kid: string): JWK {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return { ...(publicKey.export({ format: 'jwk' }) as JWK), kid, alg: 'ES256' };
}

function keySet(kids: string[], cacheControl?: string): Reply {
  const body = JSON.stringify({ keys: kids.map(jwk) });
  return (res) => {
    if (cacheControl !== undefined) res.setHeader('cache-control', cacheControl);
    res.setHeader('content-type', 'application/json');
    res.end(body);
  };
}

function remote(minIntervalMs = 30_000, timeoutMs = 2_000): RemoteJwks {
  return new RemoteJwks({ url: `${base}/jwks`, minIntervalMs, timeoutMs, log, now: () => clock });
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    reply(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

beforeEach(() => {
  hits = [];
  lines.length = 0;
});

describe('RemoteJwks', () => {
  it('keeps a key set for max-age, bounded by the min interval and 24 h', async () => {
    reply = keySet(['a'], 'max-age=120');
    const r = remote(30_000);
    expect(await r.keys()).not.toBeNull();
    clock += 119_000;
    await r.keys();
    expect(hits).toHaveLength(1);
    clock += 2_000;
    await r.keys();
    expect(hits).toHaveLength(2);

    reply = keySet(['a'], 'no-store');
    const short = remote(30_000);
    await short.keys();
    clock += 29_000;
    await short.keys();
    expect(hits).toHaveLength(3); // no-store still lives the min interval
    clock += 2_000;
    await short.keys();
    expect(hits).toHaveLength(4);

    reply = keySet(['a'], 'max-age=999999999');
    const long = remote();
    await long.keys();
    clock += MAX_TTL_MS - 1000;
    await long.keys();
    expect(hits).toHaveLength(5);
    clock += 2000;
    await long.keys();
    expect(hits).toHaveLength(6);
  });

  it('refetches for an unknown kid at most once per min interval', async () => {
    reply = keySet(['a']);
    const r = remote(10_000);
    await r.keys();
    expect(await r.unknownKey()).toBe(false); // within the interval: no fetch
    expect(hits).toHaveLength(1);
    clock += 10_000;
    reply = keySet(['a', 'b']);
    expect(await r.unknownKey()).toBe(true);
    expect(hits).toHaveLength(2);
    expect(lines.some((l) => l.includes('key set loaded') && l.includes('"kids":"a,b"'))).toBe(
      true,
    );
    clock += 10_000;
    expect(await r.unknownKey()).toBe(false); // fetched, but nothing changed
  });

  it('shares one fetch between concurrent callers', async () => {
    reply = keySet(['a']);
    const r = remote();
    const all = await Promise.all([r.keys(), r.keys(), r.keys(), r.keys()]);
    expect(all.every((k) => k !== null)).toBe(true);
    expect(hits).toHaveLength(1);
  });

  it('uses the cached keys with a warning when the issuer fails, for 24 h at most', async () => {
    reply = keySet(['a'], 'max-age=60');
    const r = remote(30_000);
    await r.keys();
    reply = (res) => {
      res.statusCode = 503;
      res.end('down');
    };
    clock += 61_000;
    expect(await r.keys()).not.toBeNull();
    const warn = JSON.parse(lines.find((l) => l.includes('refresh failed')) ?? '{}') as Record<
      string,
      unknown
    >;
    expect(warn).toMatchObject({ level: 40, jwks: `${base}/jwks` });
    expect(String(warn['err'])).toContain('HTTP 503');
    // The set expired at +60 s; stale keys serve until 24 h after that.
    clock += MAX_STALE_MS - 2_000;
    expect(await r.keys()).not.toBeNull();
    clock += 2_000;
    expect(await r.keys()).toBeNull();
  });

  it('has no keys, and says so, when the first fetch fails; retries after the interval', async () => {
    reply = (res) => res.end('not json');
    const r = remote(5_000);
    expect(await r.keys()).toBeNull();
    expect(lines.some((l) => l.includes('JWT sign-ins are refused'))).toBe(true);
    expect(await r.keys()).toBeNull();
    expect(hits).toHaveLength(1);
    clock += 5_000;
    reply = keySet(['a']);
    expect(await r.keys()).not.toBeNull();
  });

  it('refuses oversized answers, redirects, bad key sets and slow issuers', async () => {
    const cases: [Reply, string][] = [
      [(res) => res.end('x'.repeat(300 * 1024)), 'response of 307200 bytes (at most 262144)'],
      [
        (res) => {
          res.write('x'.repeat(200 * 1024)); // chunked: no content-length to go by
          res.end('x'.repeat(100 * 1024));
        },
        'response larger than 262144 bytes',
      ],
      [
        (res) => {
          res.statusCode = 302;
          res.setHeader('location', 'https://elsewhere.example/jwks');
          res.end();
        },
        'HTTP 302 (a redirect is not followed)',
      ],
      [(res) => res.end(JSON.stringify({ keys: 'nope' })), 'no "keys" array'],
      [(res) => res.end(JSON.stringify({ keys: Array(101).fill({ kty: 'EC' }) })), '101 keys'],
      [() => undefined, 'no answer within 300 ms'],
    ];
    for (const [answer, why] of cases) {
      reply = answer;
      lines.length = 0;
      clock += 60_000;
      const r = remote(1_000, 300);
      expect(await r.keys()).toBeNull();
      const errs = lines.map((l) => String((JSON.parse(l) as { err?: string }).err));
      expect(errs.join('\n')).toContain(why);
    }
    server.closeAllConnections();
  });

  it('discovers jwks_uri from the issuer, whose name must match exactly', async () => {
    let named = base;
    reply = keySet(['a']);
    const discovery = keySet(['a']);
    reply = (res) => {
      if (hits.at(-1) === '/.well-known/openid-configuration')
        res.end(JSON.stringify({ issuer: named, jwks_uri: `${base}/keys` }));
      else discovery(res);
    };
    const r = new RemoteJwks({ issuer: base, minIntervalMs: 1000, log, now: () => clock });
    expect(await r.keys()).not.toBeNull();
    expect(hits).toEqual(['/.well-known/openid-configuration', '/keys']);
    named = 'https://impostor.example';
    const bad = new RemoteJwks({ issuer: base, minIntervalMs: 1000, log, now: () => clock });
    expect(await bad.keys()).toBeNull();
    expect(lines.join('')).toContain('discovery document names issuer');
  });
});

describe('key set URLs', () => {
  it('https anywhere; http only on loopback; no credentials', () => {
    expect(jwksUrlProblem('https://idp.example.com/jwks')).toBeNull();
    expect(jwksUrlProblem('http://127.0.0.1:8080/jwks')).toBeNull();
    expect(jwksUrlProblem('http://[::1]:8080/jwks')).toBeNull();
    expect(jwksUrlProblem('http://localhost/jwks')).toBeNull();
    expect(jwksUrlProblem('http://idp.example.com/jwks')).toMatch(/only for loopback/);
    expect(jwksUrlProblem('http://10.0.0.1/jwks')).toMatch(/only for loopback/);
    expect(jwksUrlProblem('https://user:pw@idp.example.com/jwks')).toMatch(/credentials/);
    expect(jwksUrlProblem('file:///etc/jwks.json')).toMatch(/https/);
    expect(jwksUrlProblem('idp.example.com')).toMatch(/absolute URL/);
  });

  it('Cache-Control max-age is read; no-store and no-cache mean none', () => {
    expect(cacheMaxAge(null)).toBeNull();
    expect(cacheMaxAge('public, max-age=300')).toBe(300);
    expect(cacheMaxAge('max-age=300, no-cache')).toBe(0);
    expect(cacheMaxAge('private')).toBeNull();
  });

  it('the config refuses a plain-http issuer, both sources, or none', () => {
    const config = (cred: Record<string, unknown>): string =>
      JSON.stringify({
        listeners: [],
        identities: [{ name: 'alice', credentials: [{ type: 'jwt', audience: 'pw', ...cred }] }],
      });
    const issues = (cred: Record<string, unknown>): string => {
      const r = parseConfigText(config(cred));
      return r.ok ? '' : r.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('\n');
    };
    expect(issues({ issuer: 'https://idp.example.com' })).toBe('');
    expect(issues({ jwks_url: 'https://idp.example.com/jwks', jwks_min_interval: '5s' })).toBe('');
    expect(issues({ jwks_file: '/etc/jwks.json', issuer: 'any-issuer-name' })).toBe('');
    expect(issues({ issuer: 'http://idp.example.com' })).toMatch(/issuer: .*only for loopback/);
    expect(issues({ jwks_url: 'http://10.1.1.1/jwks' })).toMatch(/jwks_url: .*only for loopback/);
    expect(issues({ jwks_file: '/x', jwks_url: 'https://a.example/jwks' })).toMatch(/not both/);
    expect(issues({})).toMatch(/set jwks_file, jwks_url or issuer/);
    expect(issues({ issuer: 'https://a.example', jwks_min_interval: '10ms' })).toMatch(/1s to 1h/);
  });
});
