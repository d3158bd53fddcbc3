/**
 * The identity side of one gateway connection: who signed in (listener `auth: gateway`),
 * the `user.*` fields every later record carries, the groups policy sees (the identity's
 * own plus `grant:<listener>` while a grant allows the action), and whether a grant the
 * connection relied on has expired (listener `on_grant_expiry`). With a client certificate
 * from the listener's CA naming an identity (mTLS), every sign-in must be that identity's.
 */
import type { JsonObject } from '../audit/event.js';
import type { ActionFacts, ConnectionFacts } from '../policy/index.js';
import type { ClientTls } from './client-tls.js';
import type { UpstreamCredentials } from './credentials.js';
import type { CertificateSignIn, GatewayAuth } from './gateway-auth.js';
import { grantGroup } from './grants.js';
import type { Principal, SignInResult } from './identities.js';
import type { IdentityRuntime } from './runtime.js';

/** What the connection supplies to `gatewayAuth`. */
export interface GatewayAuthHooks {
  /** Someone signed in: the connection refreshes the `user.*` of its records. */
  signedIn(): void;
  upstreamCredentials(): UpstreamCredentials;
}

export class ConnectionIdentity {
  private signedIn: Principal | null = null;
  private reliedOnGrant = false;
  private readonly runtime: IdentityRuntime;
  private readonly listener: string;
  private readonly onGrantExpiry: 'deny' | 'close';
  private tls: ClientTls | null = null;

  constructor(runtime: IdentityRuntime, listener: string, onGrantExpiry: 'deny' | 'close') {
    this.runtime = runtime;
    this.listener = listener;
    this.onGrantExpiry = onGrantExpiry;
  }

  get principal(): Principal | null {
    return this.signedIn;
  }

  /** The client leg's TLS finished its handshake (its certificates, for mTLS and binding). */
  noteClientTls(tls: ClientTls): void {
    this.tls = tls;
  }

  get clientTls(): ClientTls | null {
    return this.tls;
  }

  /**
   * What the client's certificate means for signing in as `user` (docs/identity.md, mTLS):
   * an untrusted one refuses, one naming another identity refuses, one naming an identity
   * with no other credential signs it in now, one naming an identity with a secret leaves
   * the secret to prove. A trusted certificate naming nobody is no credential at all.
   */
  certificate(user: string | undefined): CertificateSignIn {
    const verdict = this.certificateVerdict(user);
    if (verdict.kind !== 'signed-in') return verdict;
    this.signedIn = verdict.result.principal;
    return verdict;
  }

  /** `certificate` without signing anyone in. */
  private certificateVerdict(user: string | undefined): CertificateSignIn {
    const peer = this.tls?.peer;
    if (peer === undefined) return { kind: 'none' };
    if (!peer.trusted)
      return {
        kind: 'refused',
        reason: `client certificate not trusted: ${peer.problem ?? 'unknown'}`,
      };
    const named = this.runtime.directory.mtlsIdentity(peer.subject);
    if (named === undefined) return { kind: 'none' };
    if (user !== undefined && user !== named.name)
      return { kind: 'refused', reason: `client certificate is identity ${named.name}` };
    if (!named.certificateOnly) return { kind: 'needs-secret', identity: named.name };
    const result = this.runtime.directory.verifyMtls(peer.subject);
    if (!result.ok) return { kind: 'refused', reason: result.reason };
    return { kind: 'signed-in', result };
  }

  /** Verify a sign-in; on success the connection is that identity from now on. */
  async signIn(user: string | undefined, secret: string): Promise<SignInResult> {
    const refused = this.certificateRefusal(user);
    if (refused !== null) return refused;
    let result: SignInResult;
    try {
      result = await this.runtime.directory.verify(user, secret);
    } catch {
      result = { ok: false, reason: 'verification failed' };
    }
    return this.adopt(result);
  }

  /** Sign in by a SCRAM proof the session checked (`IdentityDirectory.verifyScram`). */
  signInScram(user: string, check: (verifier: string) => boolean): SignInResult {
    return (
      this.certificateRefusal(user) ?? this.adopt(this.runtime.directory.verifyScram(user, check))
    );
  }

  /** Sign in by a mysql_native_password scramble the session checked. */
  signInMysqlNative(user: string, check: (hash: string) => boolean): SignInResult {
    return (
      this.certificateRefusal(user) ??
      this.adopt(this.runtime.directory.verifyMysqlNative(user, check))
    );
  }

  /** The SCRAM-SHA-256 verifier the identity `user` has, if any. */
  scramVerifier(user: string): string | undefined {
    return this.runtime.directory.scramVerifier(user);
  }

  /** The mysql_native_password hash the identity `user` has, if any. */
  mysqlNativeHash(user: string): string | undefined {
    return this.runtime.directory.mysqlNativeHash(user);
  }

  /** The sign-in interface a protocol session behind `auth: gateway` uses. */
  gatewayAuth(hooks: GatewayAuthHooks): GatewayAuth {
    const after = <T extends SignInResult | CertificateSignIn>(result: T): T => {
      if (('ok' in result && result.ok) || ('kind' in result && result.kind === 'signed-in'))
        hooks.signedIn();
      return result;
    };
    return {
      signIn: async (user, secret) => after(await this.signIn(user, secret)),
      scramVerifier: (user) => this.scramVerifier(user),
      signInScram: (user, check) => after(this.signInScram(user, check)),
      mysqlNativeHash: (user) => this.mysqlNativeHash(user),
      signInMysqlNative: (user, check) => after(this.signInMysqlNative(user, check)),
      clientTls: () => this.tls,
      certificate: (user) => after(this.certificate(user)),
      upstreamCredentials: () => hooks.upstreamCredentials(),
    };
  }

  /** A certificate that refuses this sign-in outright (untrusted, or another identity's). */
  private certificateRefusal(user: string | undefined): SignInResult | null {
    const cert = this.certificateVerdict(user);
    return cert.kind === 'refused' ? { ok: false, reason: cert.reason } : null;
  }

  /**
   * A verified secret signs in, unless a trusted certificate names someone else; with the
   * certificate naming the same identity the method is `mtls` (certificate and secret).
   */
  private adopt(result: SignInResult): SignInResult {
    if (!result.ok) return result;
    const peer = this.tls?.peer;
    const named =
      peer?.trusted === true ? this.runtime.directory.mtlsIdentity(peer.subject) : undefined;
    let principal = result.principal;
    if (named !== undefined) {
      if (named.name !== principal.name)
        return { ok: false, reason: `client certificate is identity ${named.name}` };
      principal = { ...principal, method: 'mtls' };
    }
    this.signedIn = principal;
    return { ok: true, principal };
  }

  /** `user` of every record once signed in: name, groups as roles, how they signed in. */
  userFields(): JsonObject | null {
    const p = this.signedIn;
    if (p === null) return null;
    return { name: p.name, roles: [...p.groups], auth_method: p.method };
  }

  /** Facts with the identity (and its grant) in place of what the protocol said. */
  facts(base: ConnectionFacts, action?: ActionFacts, nowMs = Date.now()): ConnectionFacts {
    const p = this.signedIn;
    if (p === null) return base;
    const groups = this.runtime.groupsFor(p, this.listener, nowMs, action);
    if (groups.includes(grantGroup(this.listener))) this.reliedOnGrant = true;
    return { ...base, user: p.name, groups };
  }

  /** True when `on_grant_expiry: close` and the grant this connection used is gone. */
  mustCloseForExpiry(nowMs = Date.now()): boolean {
    const p = this.signedIn;
    if (this.onGrantExpiry !== 'close' || !this.reliedOnGrant || p === null) return false;
    return this.runtime.activeGrant(p, this.listener, nowMs) === undefined;
  }
}
