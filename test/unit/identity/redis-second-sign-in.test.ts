/**
 * Redis behind `auth: gateway`: once the client has signed in, a second AUTH or
 * HELLO … AUTH is refused at the gateway, so a portwarden token never reaches Redis.
 * (Regression: HELLO 3 AUTH alice <token> after sign-in used to be forwarded.)
 */
import { describe, expect, it } from 'vitest';
import type { SignInResult } from '../../../src/identity/index.js';
import { createRedisListenerSession } from '../../../src/protocols/redis/index.js';
import type { GatewayAuth } from '../../../src/protocols/session.js';
import { redisFakeContext } from '../../helpers/redis-fake-context.js';
import * as R from '../../helpers/redis-resp.js';
import { until as untilWithin } from '../../helpers/wait.js';

const TOKEN = 'tok-first-sign-in';
const SECOND = 'tok-second-sign-in';

function signedInSession() {
  const ctx = redisFakeContext();
  const gatewayAuth: GatewayAuth = {
    signIn: (user, secret): Promise<SignInResult> =>
      Promise.resolve(
        user === 'alice' && (secret === TOKEN || secret === SECOND)
          ? { ok: true, principal: { name: 'alice', kind: 'person', groups: [], method: 'token' } }
          : { ok: false, reason: 'wrong token' },
      ),
    upstreamCredentials: () => ({ user: 'gw', password: 'upstream-pass' }),
    scramVerifier: () => undefined,
    signInScram: () => ({ ok: false, reason: 'no scram' }),
  };
  const session = createRedisListenerSession({ ...ctx, gatewayAuth });
  session.onServerData(R.simple('OK')); // the gateway's own AUTH upstream
  return { ctx, session };
}

describe('redis auth: gateway — second sign-in', () => {
  it('refuses HELLO … AUTH and AUTH after sign-in; HELLO without AUTH passes', async () => {
    const { ctx, session } = signedInSession();
    session.onClientData(R.command('AUTH', 'alice', TOKEN));
    await until(() => ctx.clientBytes().toString() === '+OK\r\n');
    const before = ctx.upstreamBytes().length;

    session.onClientData(R.command('HELLO', '3', 'AUTH', 'alice', SECOND));
    session.onClientData(R.command('AUTH', 'alice', SECOND));
    session.onClientData(R.command('HELLO', '3', 'SETNAME', 'x', 'AUTH', 'alice', SECOND));
    const sent = ctx.upstreamBytes().subarray(before).toString('latin1');
    expect(sent).toBe('');
    const replies = ctx.clientBytes().toString().split('\r\n');
    expect(replies.filter((l) => l.startsWith('-NOPERM')).length).toBe(3);

    session.onClientData(R.command('HELLO', '3'));
    expect(ctx.upstreamBytes().subarray(before).toString('latin1')).toContain('HELLO');

    const commands = ctx.actions('redis-command');
    expect(commands.map((c) => [c.event.type, c.event.reason])).toEqual([
      [['access', 'denied'], 'HELLO AUTH after gateway sign-in'],
      [['access', 'denied'], 'AUTH after gateway sign-in'],
      [['access', 'denied'], 'HELLO AUTH after gateway sign-in'],
      [['access', 'allowed'], 'audit-only listener'],
    ]);
    const all = JSON.stringify([ctx.records, ctx.upstreamBytes().toString('latin1')]);
    expect(all).not.toContain(SECOND);
    expect(all).not.toContain(TOKEN);
  });
});

/** These unit checks settle within a few turns: a 2 s deadline. */
function until(cond: () => boolean): Promise<void> {
  return untilWithin(cond, 2000);
}
