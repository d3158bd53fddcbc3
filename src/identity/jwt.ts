/**
 * JWT sign-in: a token signed by a key of the credential's key set — a JWKS file, or an
 * issuer's keys fetched over HTTPS (`jwks_url`, or OpenID Connect discovery from `issuer`;
 * see jwks-remote.ts) — checked for signature, `exp`/`nbf`, `aud`, optionally `iss`, and a
 * `sub` naming the identity (jose does the cryptography). Groups come from a configurable
 * claim.
 */
import { errors, jwtVerify } from 'jose';
import type { KeyLookup } from './jwks-remote.js';
import { JwksSources, type JwksSettings, type KeySource } from './jwks-sources.js';

export interface JwtCredentialConfig extends JwksSettings {
  readonly audience: string;
  readonly subject?: string | undefined;
  readonly groups_claim: string;
}

export type JwtCheck =
  | { readonly ok: true; readonly subject: string; readonly groups: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/** Verifies tokens for one JWT credential. */
export class JwtVerifier {
  private readonly keys: KeySource;
  private readonly config: JwtCredentialConfig;
  readonly subject: string;

  /** A JWKS file is read here (PW_ERR_CONFIG when unreadable); a URL is only fetched when needed. */
  constructor(
    config: JwtCredentialConfig,
    identityName: string,
    where: string,
    sources: JwksSources = new JwksSources(),
  ) {
    this.config = config;
    this.subject = config.subject ?? identityName;
    this.keys = sources.sourceFor(config, where);
  }

  /** Checks one compact JWS; the reason on failure never contains the token. */
  async verify(token: string, now: Date = new Date()): Promise<JwtCheck> {
    const keys = await this.keys.keys();
    if (keys === null) return { ok: false, reason: 'jwt keys unavailable' };
    try {
      return await this.check(token, keys, now);
    } catch (err) {
      if (err instanceof errors.JWKSNoMatchingKey && (await this.keys.unknownKey())) {
        const fresh = await this.keys.keys();
        if (fresh !== null) {
          try {
            return await this.check(token, fresh, now);
          } catch (again) {
            return { ok: false, reason: jwtFailure(again) };
          }
        }
      }
      return { ok: false, reason: jwtFailure(err) };
    }
  }

  private async check(token: string, keys: KeyLookup, now: Date): Promise<JwtCheck> {
    const { payload } = await jwtVerify(token, keys, {
      audience: this.config.audience,
      ...(this.config.issuer === undefined ? {} : { issuer: this.config.issuer }),
      currentDate: now,
      requiredClaims: ['exp', 'sub'],
    });
    if (payload.sub !== this.subject) return { ok: false, reason: 'jwt subject mismatch' };
    return {
      ok: true,
      subject: payload.sub,
      groups: groupsOf(payload[this.config.groups_claim]),
    };
  }
}

/** A short reason for a refused token (jose's codes, never the claims' values). */
function jwtFailure(err: unknown): string {
  if (err instanceof errors.JWTExpired) return 'jwt expired';
  if (err instanceof errors.JWTClaimValidationFailed) return `jwt claim ${err.claim} invalid`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return 'jwt signature invalid';
  if (err instanceof errors.JWKSNoMatchingKey) return 'jwt signed by an unknown key';
  if (err instanceof errors.JOSEError) return `jwt rejected (${err.code})`;
  return 'jwt rejected';
}

function groupsOf(claim: unknown): string[] {
  if (typeof claim === 'string') return [claim];
  if (Array.isArray(claim)) return claim.filter((g): g is string => typeof g === 'string');
  return [];
}

/** True when `secret` has the shape of a compact JWS (three base64url parts). */
export function looksLikeJwt(secret: string): boolean {
  return /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/.test(secret);
}
