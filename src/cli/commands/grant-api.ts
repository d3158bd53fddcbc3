/**
 * `portwarden grant … --api URL --token-file FILE`: the grant commands through a gateway's
 * API (`/api/v1/grants`) with an admin token, so the grant record names that token. The
 * token is read from the file (first line, trimmed) and only ever sent in the Authorization
 * header; it never appears in output or errors.
 */
import { readFileSync } from 'node:fs';
import { PortwardenError, errorMessage } from '../../errors.js';
import { usage } from '../io.js';

const TIMEOUT_MS = 15_000;

export interface ApiTarget {
  readonly base: string;
  readonly token: string;
}

/** The API to use, or null for the local hand-off (`--api` absent). */
export function apiTarget(opts: { api?: string; tokenFile?: string }): ApiTarget | null {
  if (opts.api === undefined) {
    if (opts.tokenFile !== undefined) throw usage('--token-file goes with --api URL');
    return null;
  }
  let url: URL;
  try {
    url = new URL(opts.api);
  } catch {
    throw usage(`--api: expected a URL like http://127.0.0.1:8080, got ${opts.api}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw usage(`--api: expected an http:// or https:// URL, got ${opts.api}`);
  if (opts.tokenFile === undefined) throw usage('--api needs --token-file (an admin token)');
  let token: string;
  try {
    token = (readFileSync(opts.tokenFile, 'utf8').split(/\r?\n/)[0] ?? '').trim();
  } catch (err) {
    throw usage(`--token-file ${opts.tokenFile}: ${errorMessage(err)}`);
  }
  if (token === '') throw usage(`--token-file ${opts.tokenFile} is empty`);
  return { base: url.href.replace(/\/+$/, ''), token };
}

/** One call; the answer's JSON, or PW_ERR_API_CALL with the status and the API's message. */
export async function callApi(
  target: ApiTarget,
  method: 'GET' | 'POST' | 'DELETE',
  path: string,
  body?: unknown,
): Promise<unknown> {
  const url = `${target.base}${path}`;
  const fail = (detail: string, cause?: unknown): PortwardenError =>
    new PortwardenError('PW_ERR_API_CALL', { method, url, detail }, { cause });
  let res: Response;
  try {
    res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${target.token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      redirect: 'error',
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
    throw fail(errorMessage(cause), err);
  }
  const text = await res.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    if (res.ok) throw fail(`HTTP ${res.status}, not JSON`);
  }
  if (!res.ok) {
    const e = (json as { error?: { code?: unknown; message?: unknown } } | null)?.error;
    const said =
      typeof e?.code === 'string' && typeof e.message === 'string'
        ? `${e.code}: ${e.message}`
        : text.slice(0, 200);
    throw fail(`HTTP ${res.status} ${said}`);
  }
  return json;
}
