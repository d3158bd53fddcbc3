/**
 * Fetching a key set: one bounded HTTP GET (timeout, no redirects, at most 256 KiB of JSON,
 * a fresh connection each time), the response's `Cache-Control: max-age`, and OpenID Connect
 * discovery (`<issuer>/.well-known/openid-configuration` names `jwks_uri`; its `issuer` must
 * be the configured one exactly).
 */
import http from 'node:http';
import https from 'node:https';
import type { JSONWebKeySet } from 'jose';
import { discoveryUrl, jwksUrlProblem } from './jwks-url.js';

const MAX_BYTES = 256 * 1024;
const MAX_KEYS = 100;

export interface FetchedJwks {
  readonly jwks: JSONWebKeySet;
  /** Where the keys came from (the discovered `jwks_uri` with discovery). */
  readonly url: string;
  /** `max-age` of the key set's response in seconds; 0 for no-store/no-cache; null if none. */
  readonly maxAgeSec: number | null;
}

export interface JwksLocation {
  readonly url?: string | undefined;
  /** Discovery when there is no `url`. */
  readonly issuer?: string | undefined;
}

/** Fetch the key set of `where`; throws an Error with a short reason (never a secret). */
export async function fetchJwks(
  where: JwksLocation,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<FetchedJwks> {
  let url = where.url;
  if (url === undefined) {
    if (where.issuer === undefined) throw new Error('no jwks_url and no issuer');
    const doc = await getJson(discoveryUrl(where.issuer), timeoutMs, signal);
    const meta = asObject(doc.body, 'discovery document');
    if (meta['issuer'] !== where.issuer)
      throw new Error(
        `discovery document names issuer ${JSON.stringify(meta['issuer'])}, not ${JSON.stringify(where.issuer)}`,
      );
    const uri = meta['jwks_uri'];
    if (typeof uri !== 'string') throw new Error('discovery document has no jwks_uri');
    url = uri;
  }
  const res = await getJson(url, timeoutMs, signal);
  const set = asObject(res.body, 'key set');
  const keys = set['keys'];
  if (!Array.isArray(keys) || keys.some((k) => k === null || typeof k !== 'object'))
    throw new Error('key set has no "keys" array of objects');
  if (keys.length > MAX_KEYS)
    throw new Error(`key set has ${keys.length} keys (at most ${MAX_KEYS})`);
  return { jwks: set as unknown as JSONWebKeySet, url, maxAgeSec: res.maxAgeSec };
}

/** `max-age` in seconds from a Cache-Control value; 0 for no-store/no-cache; null if absent. */
export function cacheMaxAge(header: string | null): number | null {
  if (header === null) return null;
  let maxAge: number | null = null;
  for (const part of header.toLowerCase().split(',')) {
    const d = part.trim();
    if (d === 'no-store' || d === 'no-cache') return 0;
    const m = /^max-age\s*=\s*"?(\d{1,10})"?$/.exec(d);
    if (m?.[1] !== undefined) maxAge = Number(m[1]);
  }
  return maxAge;
}

/** One GET on a fresh connection (a pooled keep-alive socket the issuer closed would fail). */
function getJson(
  url: string,
  timeoutMs: number,
  signal: AbortSignal,
): Promise<{ body: unknown; maxAgeSec: number | null }> {
  const problem = jwksUrlProblem(url);
  if (problem !== null) return Promise.reject(new Error(`${url}: ${problem}`));
  return new Promise((resolve, reject) => {
    const fail = (detail: string): void => {
      clearTimeout(timer);
      req.destroy();
      reject(new Error(`${url}: ${detail}`));
    };
    const get = url.startsWith('https:') ? https.get : http.get;
    const req = get(
      url,
      { agent: false, headers: { accept: 'application/json' }, signal },
      (res) => {
        const status = res.statusCode ?? 0;
        if (status !== 200) {
          fail(
            status >= 300 && status < 400
              ? `HTTP ${status} (a redirect is not followed)`
              : `HTTP ${status}`,
          );
          return;
        }
        const length = Number(res.headers['content-length'] ?? '0');
        if (length > MAX_BYTES) {
          fail(`response of ${length} bytes (at most ${MAX_BYTES})`);
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BYTES) fail(`response larger than ${MAX_BYTES} bytes`);
          else chunks.push(chunk);
        });
        res.on('end', () => {
          clearTimeout(timer);
          let body: unknown;
          try {
            body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          } catch {
            reject(new Error(`${url}: not JSON`));
            return;
          }
          const cc = res.headers['cache-control'];
          resolve({ body, maxAgeSec: cacheMaxAge(cc ?? null) });
        });
        res.on('error', (err) => fail(err.message));
      },
    );
    const timer = setTimeout(() => fail(`no answer within ${timeoutMs} ms`), timeoutMs);
    req.on('error', (err) => fail(signal.aborted ? 'aborted' : err.message));
  });
}

function asObject(body: unknown, what: string): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new Error(`${what} is not a JSON object`);
  return body as Record<string, unknown>;
}
