/**
 * JWT sign-in: a token signed by a key in a configured JWKS file, checked for signature,
 * `exp`/`nbf`, `aud`, optionally `iss`, and a `sub` naming the identity (jose does the
 * cryptography). Groups come from a configurable claim.
 */
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, errors, jwtVerify, type JSONWebKeySet } from 'jose';
import { PortwardenError, errorMessage } from '../errors.js';

export interface JwtCredentialConfig {
  readonly issuer?: string | undefined;
  readonly jwks_file: string;
  readonly audience: string;
  readonly subject?: string | undefined;
  readonly groups_claim: string;
}

export type JwtCheck =
  | { readonly ok: true; readonly subject: string; readonly groups: readonly string[] }
  | { readonly ok: false; readonly reason: string };

/** Verifies tokens for one JWT credential; keys are read once, when config loads. */
export class JwtVerifier {
  private readonly keys: ReturnType<typeof createLocalJWKSet>;
  private readonly config: JwtCredentialConfig;
  readonly subject: string;

  constructor(config: JwtCredentialConfig, identityName: string, where: string) {
    this.config = config;
    this.subject = config.subject ?? identityName;
    let jwks: JSONWebKeySet;
    try {
      jwks = JSON.parse(readFileSync(config.jwks_file, 'utf8')) as JSONWebKeySet;
      this.keys = createLocalJWKSet(jwks);
    } catch (err) {
      throw new PortwardenError(
        'PW_ERR_CONFIG',
        { detail: `${where}.jwks_file ${config.jwks_file}: ${errorMessage(err)}` },
        { cause: err },
      );
    }
  }

  /** Checks one compact JWS; the reason on failure never contains the token. */
  async verify(token: string, now: Date = new Date()): Promise<JwtCheck> {
    try {
      const { payload } = await jwtVerify(token, this.keys, {
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
    } catch (err) {
      return { ok: false, reason: jwtFailure(err) };
    }
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
