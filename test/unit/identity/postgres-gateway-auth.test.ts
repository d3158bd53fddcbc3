/**
 * The PostgreSQL gateway sign-in against a recording context: which method is offered
 * where (cleartext only over TLS or loopback, else SCRAM — a mock one for an identity
 * without a verifier), and the gateway's own MD5 login toward the target, with builder-made
 * bytes (test/helpers/pg-builder.ts, protocol-message-formats).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { SignInResult } from '../../../src/identity/index.js';
import { createPostgresListenerSession } from '../../../src/protocols/postgres/index.js';
import { ScramClient } from '../../../src/protocols/postgres/scram.js';
import type { GatewayAuth, SessionContext } from '../../../src/protocols/session.js';
import { be, fe } from '../../helpers/pg-builder.js';
import { fakeContext, type FakeContext } from '../../helpers/pg-fake-context.js';
import { until as untilWithin } from '../../helpers/wait.js';

const TOKEN = 'tok-dave-0123456789';
const UPSTREAM_PASS = 'upstream-secret';

const auth: GatewayAuth = {
  signIn: (user, secret): Promise<SignInResult> =>
    Promise.resolve(
      user === 'dave' && secret === TOKEN
        ? { ok: true, principal: { name: 'dave', kind: 'person', groups: [], method: 'token' } }
        : { ok: false, reason: 'wrong token' },
    ),
  upstreamCredentials: () => ({ user: 'app', password: UPSTREAM_PASS }),
  scramVerifier: () => undefined,
  signInScram: () => ({ ok: false, reason: 'no verifier' }),
};

function start(
  sourceIp: string,
  tls = false,
): { ctx: FakeContext; session: ReturnType<typeof createPostgresListenerSession> } {
  const ctx = fakeContext({ tls });
  const withAuth: SessionContext = {
    ...ctx,
    gatewayAuth: auth,
    facts: () => ({ listener: 'pg-test', sourceIp, sourcePort: 50000 }),
  };
  return { ctx, session: createPostgresListenerSession(withAuth) };
}

const startup = fe.startup({ user: 'dave', database: 'orders', application_name: 'psql' });

describe('postgres auth: gateway — methods offered', () => {
  it('off loopback without TLS a token-only identity gets SCRAM, which cannot succeed', () => {
    const { ctx, session } = start('10.0.0.7');
    session.onClientData(startup);
    expect(ctx.clientBytes()).toEqual(be.authSasl(['SCRAM-SHA-256']));
    const client = new ScramClient(TOKEN);
    const first = Buffer.from(client.firstMessage());
    const initial = Buffer.concat([Buffer.from('SCRAM-SHA-256\0'), Buffer.alloc(4), first]);
    initial.writeInt32BE(first.length, 14);
    const head = Buffer.alloc(5);
    head.write('p', 0, 'latin1');
    head.writeInt32BE(initial.length + 4, 1);
    const before = ctx.clientBytes().length;
    session.onClientData(Buffer.concat([head, initial]));
    const serverFirst = ctx
      .clientBytes()
      .subarray(before + 9)
      .toString('utf8');
    expect(serverFirst).toMatch(/^r=.+,s=.+,i=4096$/);
    const final = client.finalMessage(serverFirst);
    if (!final.ok) throw new Error(final.reason);
    const body = Buffer.from(final.message);
    const msg = Buffer.concat([Buffer.from('p'), Buffer.alloc(4), body]);
    msg.writeInt32BE(body.length + 4, 1);
    session.onClientData(msg);
    expect(ctx.clientBytes().toString('latin1')).toContain('28P01');
    expect(ctx.upstreamBytes().length).toBe(0);
    const [failed] = ctx.actions('db-login');
    expect(failed?.event.reason).toBe(
      'no scram_sha256 credential, and cleartext needs client TLS or loopback',
    );
    expect(failed?.['user']).toEqual({ name: 'dave' });
    expect(ctx.closed?.reason).toBe('policy');
  });

  it('off loopback over client TLS the cleartext token is asked for', () => {
    const { ctx, session } = start('10.0.0.7', true);
    session.onClientData(fe.sslRequest());
    expect(ctx.clientBytes().toString('latin1')).toBe('S');
    expect(ctx.tlsStarted).toBe(1);
    session.onClientData(startup);
    expect(ctx.clientBytes().subarray(1)).toEqual(be.authCleartext());
  });
});

describe('postgres auth: gateway — the gateway logs in to the target', () => {
  it('answers MD5, swallows the exchange, relays from AuthenticationOk, records dave as app', async () => {
    const { ctx, session } = start('127.0.0.1');
    // The whole sign-in fed byte by byte.
    for (const b of Buffer.concat([startup])) session.onClientData(Buffer.from([b]));
    expect(ctx.clientBytes()).toEqual(be.authCleartext());
    const pw = fe.password(TOKEN);
    for (const b of pw) session.onClientData(Buffer.from([b]));
    await until(() => ctx.upstreamBytes().length > 0);
    const sent = ctx.upstreamBytes();
    expect(sent).toEqual(fe.startup({ user: 'app', database: 'orders', application_name: 'psql' }));
    expect(sent.toString('latin1')).not.toContain(TOKEN);

    const salt = Buffer.from([1, 2, 3, 4]);
    const md5 = Buffer.concat([Buffer.from('R'), Buffer.alloc(8), salt]);
    md5.writeInt32BE(12, 1);
    md5.writeInt32BE(5, 5);
    session.onServerData(md5);
    const hex = (d: Buffer | string): string => createHash('md5').update(d).digest('hex');
    const expected = `md5${hex(Buffer.concat([Buffer.from(hex(UPSTREAM_PASS + 'app')), salt]))}`;
    expect(ctx.upstreamBytes().subarray(sent.length)).toEqual(fe.password(expected));
    expect(ctx.clientBytes()).toEqual(be.authCleartext()); // the exchange is not relayed

    const tail = Buffer.concat([
      be.authOk(),
      be.parameterStatus('server_version', '15'),
      be.keyData(42),
      be.ready(),
    ]);
    session.onServerData(tail);
    expect(ctx.clientBytes()).toEqual(Buffer.concat([be.authCleartext(), tail]));
    const [login] = ctx.actions('db-login');
    expect(login?.event.outcome).toBe('success');
    expect(login?.['db']).toMatchObject({ user: 'app', namespace: 'orders', backend_pid: 42 });
    const text = JSON.stringify(ctx.records);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(UPSTREAM_PASS);
  });

  it('a target refusal ends the session with 28000 and a failed db-login', async () => {
    const { ctx, session } = start('127.0.0.1');
    session.onClientData(Buffer.concat([startup, fe.password(TOKEN)]));
    await until(() => ctx.upstreamBytes().length > 0);
    session.onServerData(
      be.error('28P01', 'password authentication failed for user "app"', 'FATAL'),
    );
    expect(ctx.clientBytes().toString('latin1')).toContain(
      'portwarden could not sign in to the target',
    );
    expect(ctx.closed?.reason).toBe('upstream-unreachable');
    const [failed] = ctx.actions('db-login');
    expect(failed?.event.outcome).toBe('failure');
    expect(String(failed?.event.reason)).toContain('target sign-in failed');
  });
});

/** These unit checks settle within a few turns: a 2 s deadline. */
function until(cond: () => boolean): Promise<void> {
  return untilWithin(cond, 2000);
}
