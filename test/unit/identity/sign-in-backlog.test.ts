/**
 * While a gateway sign-in is being checked, what the client sends next is kept and replayed
 * once it is open — but only up to MAX_SIGN_IN_BACKLOG: a client that floods before it is
 * signed in is closed with a protocol error, its bytes never reach the target.
 */
import { describe, expect, it } from 'vitest';
import type { SignInResult } from '../../../src/identity/index.js';
import { createRedisListenerSession } from '../../../src/protocols/redis/index.js';
import type { GatewayAuth } from '../../../src/protocols/session.js';
import { MAX_SIGN_IN_BACKLOG, SignInBacklog } from '../../../src/protocols/sign-in-backlog.js';
import { redisFakeContext } from '../../helpers/redis-fake-context.js';
import * as R from '../../helpers/redis-resp.js';

describe('SignInBacklog', () => {
  it('keeps chunks in order up to its bound and refuses the one that would pass it', () => {
    const b = new SignInBacklog(10);
    expect(b.push(Buffer.from('abcd'))).toBe(true);
    expect(b.push(Buffer.from('efgh'))).toBe(true);
    expect(b.push(Buffer.from('ijk'))).toBe(false);
    expect(Buffer.concat(b.take()).toString()).toBe('abcdefgh');
    expect(b.take()).toEqual([]);
    expect(b.push(Buffer.from('0123456789'))).toBe(true);
  });
});

describe('redis auth: gateway — a flood while the sign-in is checked', () => {
  it('is cut off with a protocol error; nothing reaches the target', () => {
    const ctx = redisFakeContext();
    const gatewayAuth: GatewayAuth = {
      // A sign-in that never answers (an issuer that hangs): the client keeps sending.
      signIn: (): Promise<SignInResult> => new Promise(() => undefined),
      upstreamCredentials: () => ({ user: 'gw', password: 'upstream-pass' }),
      scramVerifier: () => undefined,
      signInScram: () => ({ ok: false, reason: 'no scram' }),
    };
    const session = createRedisListenerSession({ ...ctx, gatewayAuth });
    session.onServerData(R.simple('OK'));
    const before = ctx.upstreamBytes().length;
    session.onClientData(R.command('AUTH', 'alice', 'tok'));
    const big = R.command('SET', 'k', 'x'.repeat(64 * 1024));
    for (let sent = 0; sent <= MAX_SIGN_IN_BACKLOG && ctx.closed === null; sent += big.length)
      session.onClientData(big);
    expect(ctx.closed?.reason).toBe('protocol-error');
    expect(ctx.clientBytes().toString()).toContain('-ERR Protocol error: more than');
    expect(ctx.upstreamBytes().length).toBe(before);
  });
});
