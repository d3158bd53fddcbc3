/**
 * The identity side of one gateway connection: who signed in (listener `auth: gateway`),
 * the `user.*` fields every later record carries, the groups policy sees (the identity's
 * own plus `grant:<listener>` while a grant allows the action), and whether a grant the
 * connection relied on has expired (listener `on_grant_expiry`).
 */
import type { JsonObject } from '../audit/event.js';
import type { ActionFacts, ConnectionFacts } from '../policy/index.js';
import { grantGroup } from './grants.js';
import type { Principal, SignInResult } from './identities.js';
import type { IdentityRuntime } from './runtime.js';

export class ConnectionIdentity {
  private signedIn: Principal | null = null;
  private reliedOnGrant = false;
  private readonly runtime: IdentityRuntime;
  private readonly listener: string;
  private readonly onGrantExpiry: 'deny' | 'close';

  constructor(runtime: IdentityRuntime, listener: string, onGrantExpiry: 'deny' | 'close') {
    this.runtime = runtime;
    this.listener = listener;
    this.onGrantExpiry = onGrantExpiry;
  }

  get principal(): Principal | null {
    return this.signedIn;
  }

  /** Verify a sign-in; on success the connection is that identity from now on. */
  async signIn(user: string | undefined, secret: string): Promise<SignInResult> {
    let result: SignInResult;
    try {
      result = await this.runtime.directory.verify(user, secret);
    } catch {
      result = { ok: false, reason: 'verification failed' };
    }
    if (result.ok) this.signedIn = result.principal;
    return result;
  }

  /** Sign in by a SCRAM proof the session checked (`IdentityDirectory.verifyScram`). */
  signInScram(user: string, check: (verifier: string) => boolean): SignInResult {
    const result = this.runtime.directory.verifyScram(user, check);
    if (result.ok) this.signedIn = result.principal;
    return result;
  }

  /** The SCRAM-SHA-256 verifier the identity `user` has, if any. */
  scramVerifier(user: string): string | undefined {
    return this.runtime.directory.scramVerifier(user);
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
