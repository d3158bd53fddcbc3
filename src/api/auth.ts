/**
 * Bearer tokens for the API: each configured token has a name and a role; a request's token
 * is hashed and compared in constant time with every configured hash. Off loopback the API
 * refuses to start without tokens; on loopback without tokens reads are open (docs/api.md).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { PortwardenError } from '../errors.js';

export const ROLES = ['viewer', 'auditor', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who made a request: a named token, or the open loopback access (name null). */
export interface Principal {
  readonly name: string | null;
  readonly role: Role;
}

export interface TokenConfig {
  readonly name: string;
  readonly role: Role;
  readonly token_sha256?: string | undefined;
  readonly token_env?: string | undefined;
}

interface KnownToken {
  readonly name: string;
  readonly role: Role;
  readonly hash: Buffer;
}

/** The role open (tokenless, loopback-only) access gets: every read, no policy reload. */
export const OPEN_ROLE: Role = 'auditor';

export function roleAtLeast(have: Role, need: Role): boolean {
  return ROLES.indexOf(have) >= ROLES.indexOf(need);
}

export function isLoopbackHost(host: string): boolean {
  if (host === 'localhost') return true;
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (isIP(bare) === 4) return bare.startsWith('127.');
  if (bare === '::1') return true;
  return bare.toLowerCase().startsWith('::ffff:127.');
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

export type AuthResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly status: 401; readonly detail: string };

/** Checks Authorization headers against the configured tokens. */
export class TokenAuthority {
  private readonly tokens: readonly KnownToken[];
  readonly open: boolean;

  /** Resolve `token_env` from `env`; refuse a missing variable or a non-loopback open API. */
  constructor(
    configs: readonly TokenConfig[],
    listenHost: string,
    env: NodeJS.ProcessEnv = process.env,
  ) {
    const tokens: KnownToken[] = [];
    for (const t of configs) {
      let hex = t.token_sha256;
      if (hex === undefined && t.token_env !== undefined) {
        const value = env[t.token_env];
        if (value === undefined || value === '') {
          throw new PortwardenError('PW_ERR_CONFIG', {
            detail: `api.tokens ${t.name}: environment variable ${t.token_env} is not set`,
          });
        }
        hex = sha256Hex(value);
      }
      if (hex === undefined) {
        throw new PortwardenError('PW_ERR_CONFIG', {
          detail: `api.tokens ${t.name}: set token_sha256 or token_env`,
        });
      }
      tokens.push({ name: t.name, role: t.role, hash: Buffer.from(hex, 'hex') });
    }
    if (tokens.length === 0 && !isLoopbackHost(listenHost)) {
      throw new PortwardenError('PW_ERR_CONFIG', {
        detail: `api.listen ${listenHost} is not a loopback address: configure api.tokens (or listen on 127.0.0.1)`,
      });
    }
    this.tokens = tokens;
    this.open = tokens.length === 0;
  }

  /** The principal for an Authorization header value (undefined when absent). */
  authenticate(header: string | undefined): AuthResult {
    if (header === undefined || header === '') {
      if (this.open) return { ok: true, principal: { name: null, role: OPEN_ROLE } };
      return { ok: false, status: 401, detail: 'a bearer token is required' };
    }
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1])
      return { ok: false, status: 401, detail: 'expected "Authorization: Bearer <token>"' };
    if (this.open) return { ok: false, status: 401, detail: 'this API has no tokens configured' };
    const presented = createHash('sha256').update(match[1]).digest();
    let found: KnownToken | undefined;
    // Compare with every token so the time taken does not say which one (or none) matched.
    for (const t of this.tokens) {
      if (timingSafeEqual(presented, t.hash) && found === undefined) found = t;
    }
    if (!found) return { ok: false, status: 401, detail: 'unknown token' };
    return { ok: true, principal: { name: found.name, role: found.role } };
  }
}
