/**
 * What a protocol session behind listener `auth: gateway` asks of the identity layer
 * (docs/identity.md): verify the client's sign-in — a secret, a challenge–response against a
 * stored verifier, or the client's certificate — and hand out the target credentials.
 */
import type { ClientTls } from './client-tls.js';
import type { UpstreamCredentials } from './credentials.js';
import type { SignInResult } from './identities.js';

/**
 * What the client's TLS certificate means for a sign-in (mTLS, listener `tls.ca`):
 * - `none`: no certificate that names an identity — sign in as usual;
 * - `refused`: a certificate the listener's CA did not sign, or one naming another identity;
 * - `needs-secret`: it names `identity`, which also holds a token/JWT/verifier: the client must
 *   still prove that (signing in then records `mtls`);
 * - `signed-in`: it names an identity whose only credentials are certificates: done.
 */
export type CertificateSignIn =
  | { readonly kind: 'none' }
  | { readonly kind: 'refused'; readonly reason: string }
  | { readonly kind: 'needs-secret'; readonly identity: string }
  | { readonly kind: 'signed-in'; readonly result: SignInResult & { readonly ok: true } };

export interface GatewayAuth {
  /**
   * Verify a client's sign-in (`user` absent: the token names its identity). On success
   * every later record carries the identity as `user.*`. Never throws; never keeps `secret`.
   * A client certificate that names an identity must name this one (`certificate`).
   */
  signIn(user: string | undefined, secret: string): Promise<SignInResult>;
  /** The SCRAM-SHA-256 verifier (pg_authid format) stored for identity `user`, if any. */
  scramVerifier(user: string): string | undefined;
  /**
   * Sign in by a SCRAM proof the session checked: `check` is asked about each stored
   * verifier of `user`, and one passing signs the identity in (as `signIn` does).
   */
  signInScram(user: string, check: (verifier: string) => boolean): SignInResult;
  /** The target credentials for this listener (read now from env/file). Throws if missing. */
  upstreamCredentials(): UpstreamCredentials;
  /** The `mysql_native_password` hash (`*` + hex SHA1(SHA1(token))) of `user`, if any. */
  mysqlNativeHash?(user: string): string | undefined;
  /** Sign in by a mysql_native_password scramble the session checked against `hash`. */
  signInMysqlNative?(user: string, check: (hash: string) => boolean): SignInResult;
  /** The client leg's TLS once its handshake is done; null on a plain leg. */
  clientTls?(): ClientTls | null;
  /** What the client's certificate means for signing in as `user` (absent: any identity). */
  certificate?(user: string | undefined): CertificateSignIn;
}
