/**
 * Which URLs portwarden fetches signing keys from: `https:` anywhere, `http:` only on a
 * loopback host (a local test issuer), never with a user or password in the URL (it would
 * end up in log lines). Used by the config schema and again for a discovered `jwks_uri`.
 */
import { isIP } from 'node:net';

/** Why `text` may not be fetched for keys, or null when it may. */
export function jwksUrlProblem(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return `expected an absolute URL, got ${JSON.stringify(text.slice(0, 200))}`;
  }
  if (url.username !== '' || url.password !== '') return 'a URL with credentials is not allowed';
  if (url.protocol === 'https:') return null;
  if (url.protocol === 'http:') {
    return isLoopbackHostname(url.hostname)
      ? null
      : `http:// is allowed only for loopback hosts (127.0.0.1, [::1], localhost); use https:// for ${url.host}`;
  }
  return `expected an https:// URL, got ${url.protocol}`;
}

/** `hostname` as `URL.hostname` gives it (IPv6 in brackets). */
export function isLoopbackHostname(hostname: string): boolean {
  if (hostname === 'localhost') return true;
  const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  return bare === '::1';
}

/** The OpenID Connect discovery document of an issuer (OIDC Discovery 1.0 §4). */
export function discoveryUrl(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
}
