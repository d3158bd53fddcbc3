/**
 * What a request says about itself, for policy and the record: target split into path and
 * query (secret-looking query values redacted), host, user agent, and the claimed user —
 * never an Authorization or Cookie value.
 */
import { headerValue } from './framing.js';
import { HttpProtocolError } from './messages.js';
import type { RequestHead } from './messages.js';

export interface RequestFacts {
  /** Path as sent (percent-encoding kept). */
  readonly rawPath: string;
  /** Path as policy sees it: unreserved escapes decoded, dot segments removed (RFC 3986 §6.2.2). */
  readonly path: string;
  /** Query without `?`, values of secret-looking keys replaced by REDACTED. */
  readonly query?: string;
  readonly domain?: string;
  readonly port?: number;
  readonly userAgent?: string;
  /** Lower-case scheme of the Authorization header (basic, bearer, …). */
  readonly authScheme?: string;
  /** Username of Basic auth, or `sub` of an unverified bearer JWT. */
  readonly user?: string;
  readonly cookiePresent: boolean;
}

const SECRET_KEY = /pass|pwd|secret|token|api[-_]?key|auth|sig|session|credential|^code$|^key$/i;
const JWT = /^[A-Za-z0-9_-]+\.([A-Za-z0-9_-]+)\.[A-Za-z0-9_-]*$/;
const MAX_CREDENTIAL_CHARS = 8192;
const UNRESERVED = /%(2[dDeE]|3[0-9]|[46][1-9a-fA-F]|[57][0-9aA]|5[fF]|7[eE])/g;

/** Splits the request-target (RFC 9112 §3.2); throws on a target that fits no form. */
export function splitTarget(
  method: string,
  target: string,
): { path: string; query?: string; authority?: string } {
  if (method === 'CONNECT') {
    if (target.includes('/') || !target.includes(':'))
      throw new HttpProtocolError('CONNECT needs host:port');
    return { path: '', authority: target };
  }
  if (target === '*') {
    if (method !== 'OPTIONS') throw new HttpProtocolError('asterisk target outside OPTIONS');
    return { path: '*' };
  }
  let rest = target;
  let authority: string | undefined;
  if (!target.startsWith('/')) {
    const m = /^[A-Za-z][A-Za-z0-9+.-]*:\/\/([^/?#]*)/.exec(target);
    if (m === null) throw new HttpProtocolError('malformed request target');
    authority = m[1];
    rest = target.slice(m[0].length) || '/';
  }
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? undefined : rest.slice(q + 1);
  return {
    path,
    ...(query === undefined ? {} : { query }),
    ...(authority === undefined ? {} : { authority }),
  };
}

/** RFC 3986 §5.2.4 remove_dot_segments, after decoding escapes of unreserved characters. */
export function normalizePath(path: string): string {
  if (!path.startsWith('/')) return path;
  const decoded = path.replace(UNRESERVED, (e) => String.fromCharCode(parseInt(e.slice(1), 16)));
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const s = segments[i] ?? '';
    const last = i === segments.length - 1;
    if (s === '.' || s === '..') {
      if (s === '..' && out.length > 0) out.pop();
      if (last) out.push('');
    } else out.push(s);
  }
  return '/' + out.join('/');
}

/** The query with values of secret-looking keys replaced. */
export function redactQuery(query: string): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let key = pair.slice(0, eq);
      try {
        key = decodeURIComponent(key.replace(/\+/g, ' '));
      } catch {
        // keep the raw key when it is not valid percent-encoding
      }
      return SECRET_KEY.test(key) ? `${pair.slice(0, eq)}=REDACTED` : pair;
    })
    .join('&');
}

function splitHost(authority: string): { domain?: string; port?: number } {
  const m = /^(\[[0-9A-Fa-f:.]+\]|[^:@\s]*)(?::([0-9]{1,5}))?$/.exec(authority);
  if (m === null) return {};
  const domain = (m[1] ?? '').replace(/^\[|\]$/g, '').toLowerCase();
  const port = m[2] === undefined ? undefined : Number(m[2]);
  return { ...(domain === '' ? {} : { domain }), ...(port === undefined ? {} : { port }) };
}

function claimedUser(authorization: string): { scheme: string; user?: string } {
  const sp = authorization.indexOf(' ');
  const scheme = (sp < 0 ? authorization : authorization.slice(0, sp)).toLowerCase();
  const credentials = sp < 0 ? '' : authorization.slice(sp + 1).trim();
  if (credentials.length === 0 || credentials.length > MAX_CREDENTIAL_CHARS) return { scheme };
  if (scheme === 'basic') {
    const decoded = Buffer.from(credentials, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    // Without a colon it is not user:password; never risk recording a password.
    if (colon <= 0) return { scheme };
    return { scheme, user: decoded.slice(0, colon) };
  }
  if (scheme === 'bearer') {
    const m = JWT.exec(credentials);
    if (m === null) return { scheme };
    try {
      const claims: unknown = JSON.parse(Buffer.from(m[1] ?? '', 'base64url').toString('utf8'));
      if (
        typeof claims === 'object' &&
        claims !== null &&
        'sub' in claims &&
        typeof claims.sub === 'string'
      ) {
        return { scheme, user: claims.sub };
      }
    } catch {
      // not JSON: an opaque token, no user
    }
  }
  return { scheme };
}

/** Facts of one request head, computed once. */
export function describeRequest(head: RequestHead): RequestFacts {
  const t = splitTarget(head.method, head.target);
  const host = splitHost(t.authority ?? headerValue(head.headers, 'host') ?? '');
  const authorization = headerValue(head.headers, 'authorization');
  const auth = authorization === undefined ? undefined : claimedUser(authorization);
  const userAgent = headerValue(head.headers, 'user-agent');
  return {
    rawPath: t.path,
    path: normalizePath(t.path),
    ...(t.query === undefined ? {} : { query: redactQuery(t.query) }),
    ...host,
    ...(userAgent === undefined ? {} : { userAgent }),
    ...(auth === undefined ? {} : { authScheme: auth.scheme }),
    ...(auth?.user === undefined ? {} : { user: auth.user }),
    cookiePresent: head.headers.some((h) => h.name === 'cookie'),
  };
}
