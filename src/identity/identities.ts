/**
 * The identity directory: people and services from config, each with credentials — a static
 * token kept only as its SHA-256, an mTLS certificate subject, or JWTs from a JWKS (file or
 * issuer URL). Compiled once when config loads; verification never logs or returns the secret.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { decodeJwt } from 'jose';
import type { IdentityConfig } from '../config/index.js';
import { JwksSources } from './jwks-sources.js';
import { JwtVerifier, looksLikeJwt } from './jwt.js';

export type AuthMethod = 'token' | 'jwt' | 'mtls';

/** A verified identity. */
export interface Principal {
  readonly name: string;
  readonly kind: 'person' | 'service';
  readonly groups: readonly string[];
  readonly method: AuthMethod;
}

export type SignInResult =
  | { readonly ok: true; readonly principal: Principal }
  | { readonly ok: false; readonly reason: string };

interface CompiledIdentity {
  readonly name: string;
  readonly kind: 'person' | 'service';
  readonly groups: readonly string[];
  readonly tokenHashes: readonly Buffer[];
  readonly subjects: readonly string[];
  readonly jwt: readonly JwtVerifier[];
  /** PostgreSQL SCRAM-SHA-256 verifiers (pg_authid format), checked by the protocol session. */
  readonly scram: readonly string[];
  /** MySQL mysql_native_password hashes (`*` + 40 upper-case hex), checked by the session. */
  readonly mysqlNative: readonly string[];
}

/** An identity a client certificate subject names. */
export interface MtlsIdentity {
  readonly name: string;
  /** The identity has no token, JWT or verifier: the certificate alone signs it in. */
  readonly certificateOnly: boolean;
}

/** SHA-256 of a token, hex: what `identities[].credentials[].sha256` holds. */
export function tokenSha256(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export class IdentityDirectory {
  private readonly byName = new Map<string, CompiledIdentity>();
  private readonly byTokenHash = new Map<string, CompiledIdentity>();
  private readonly bySubject = new Map<string, CompiledIdentity>();

  /** `jwks`: where JWT credentials get their keys (shared caches of remote key sets). */
  constructor(identities: readonly IdentityConfig[], jwks: JwksSources = new JwksSources()) {
    identities.forEach((id, i) => {
      const tokenHashes: Buffer[] = [];
      const subjects: string[] = [];
      const jwt: JwtVerifier[] = [];
      const scram: string[] = [];
      const mysqlNative: string[] = [];
      const compiled: CompiledIdentity = {
        name: id.name,
        kind: id.kind,
        groups: id.groups,
        tokenHashes,
        subjects,
        jwt,
        scram,
        mysqlNative,
      };
      id.credentials.forEach((c, j) => {
        if (c.type === 'token') {
          tokenHashes.push(Buffer.from(c.sha256, 'hex'));
          this.byTokenHash.set(c.sha256, compiled);
        } else if (c.type === 'mtls') {
          subjects.push(c.subject);
          this.bySubject.set(c.subject, compiled);
        } else if (c.type === 'scram_sha256') {
          scram.push(c.verifier);
        } else if (c.type === 'mysql_native_password') {
          mysqlNative.push(c.hash.toUpperCase());
        } else {
          jwt.push(new JwtVerifier(c, id.name, `identities.${i}.credentials.${j}`, jwks));
        }
      });
      this.byName.set(id.name, compiled);
    });
  }

  get size(): number {
    return this.byName.size;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /**
   * Verify a sign-in. `user` is the name the client gave (Redis AUTH, PostgreSQL user);
   * without it (HTTP bearer) the token itself says who it is.
   */
  async verify(user: string | undefined, secret: string, now = new Date()): Promise<SignInResult> {
    if (secret.length === 0) return { ok: false, reason: 'empty credential' };
    if (looksLikeJwt(secret)) return this.verifyJwt(user, secret, now);
    return this.verifyToken(user, secret);
  }

  /** A static token: hash it and compare in constant time with the identity's hashes. */
  verifyToken(user: string | undefined, token: string): SignInResult {
    const digest = createHash('sha256').update(token, 'utf8').digest();
    const id =
      user === undefined ? this.byTokenHash.get(digest.toString('hex')) : this.byName.get(user);
    if (id === undefined)
      return { ok: false, reason: user === undefined ? 'unknown token' : 'unknown identity' };
    let match = false;
    for (const h of id.tokenHashes) if (timingSafeEqual(h, digest)) match = true;
    if (!match) return { ok: false, reason: 'wrong token' };
    return { ok: true, principal: principal(id, 'token', []) };
  }

  private async verifyJwt(
    user: string | undefined,
    token: string,
    now: Date,
  ): Promise<SignInResult> {
    let sub: string | undefined;
    try {
      sub = decodeJwt(token).sub;
    } catch {
      return { ok: false, reason: 'jwt malformed' };
    }
    const candidates = [...this.byName.values()].filter(
      (id) => (user === undefined || id.name === user) && id.jwt.some((v) => v.subject === sub),
    );
    if (candidates.length === 0) return { ok: false, reason: 'no identity for this jwt subject' };
    let reason = 'jwt rejected';
    for (const id of candidates) {
      for (const v of id.jwt) {
        if (v.subject !== sub) continue;
        const check = await v.verify(token, now);
        if (check.ok) return { ok: true, principal: principal(id, 'jwt', check.groups) };
        reason = check.reason;
      }
    }
    return { ok: false, reason };
  }

  /** The first SCRAM-SHA-256 verifier of an identity, if it has one. */
  scramVerifier(user: string): string | undefined {
    return this.byName.get(user)?.scram[0];
  }

  /**
   * Sign in by a challenge–response the protocol session checked: `check` is asked about
   * each stored SCRAM verifier of `user`; one passing signs the identity in (method token:
   * the verifier is derived from the identity's token).
   */
  verifyScram(user: string, check: (verifier: string) => boolean): SignInResult {
    const id = this.byName.get(user);
    if (id === undefined) return { ok: false, reason: 'unknown identity' };
    if (!id.scram.some(check)) return { ok: false, reason: 'wrong token' };
    return { ok: true, principal: principal(id, 'token', []) };
  }

  /** The first mysql_native_password hash of an identity, if it has one. */
  mysqlNativeHash(user: string): string | undefined {
    return this.byName.get(user)?.mysqlNative[0];
  }

  /** Sign in by a mysql_native_password scramble the session checked (as `verifyScram`). */
  verifyMysqlNative(user: string, check: (hash: string) => boolean): SignInResult {
    const id = this.byName.get(user);
    if (id === undefined) return { ok: false, reason: 'unknown identity' };
    if (!id.mysqlNative.some(check)) return { ok: false, reason: 'wrong token' };
    return { ok: true, principal: principal(id, 'token', []) };
  }

  /** The identity an mTLS certificate subject names, if any. */
  mtlsIdentity(subject: string): MtlsIdentity | undefined {
    const id = this.bySubject.get(subject);
    if (id === undefined) return undefined;
    const secrets = id.tokenHashes.length + id.jwt.length + id.scram.length + id.mysqlNative.length;
    return { name: id.name, certificateOnly: secrets === 0 };
  }

  /** An mTLS client certificate subject (the listener's CA has verified the chain). */
  verifyMtls(subject: string): SignInResult {
    const id = this.bySubject.get(subject);
    if (id === undefined) return { ok: false, reason: 'no identity for this certificate subject' };
    return { ok: true, principal: principal(id, 'mtls', []) };
  }
}

function principal(
  id: CompiledIdentity,
  method: AuthMethod,
  extraGroups: readonly string[],
): Principal {
  const groups =
    extraGroups.length === 0 ? id.groups : [...new Set([...id.groups, ...extraGroups])];
  return { name: id.name, kind: id.kind, groups, method };
}
