/**
 * Just-in-time grants end to end: `portwarden grant` (the real command, in process) hands a
 * grant to the running gateway; a policy with `grant: required` then allows the identity.
 * Expiry denies the next command (`on_grant_expiry: deny`) or ends the session (`close`);
 * revoke takes effect at once. Real Redis, ioredis and redis-cli as the clients.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { buildProgram } from '../../src/cli/program.js';
import { tokenSha256 } from '../../src/identity/index.js';
import { compilePolicies } from '../../src/policy/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';

const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const KEY = `pw:it:grant:${process.pid}`;
let gw: TestGateway;
let direct: Redis;

async function cli(args: readonly string[]): Promise<string> {
  let out = '';
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array): boolean => {
    out += chunk.toString();
    return true;
  }) as typeof process.stdout.write;
  try {
    await buildProgram().parseAsync(['--data-dir', gw.dataDir, ...args], { from: 'user' });
  } finally {
    process.stdout.write = write;
    process.exitCode = 0;
  }
  return out;
}

/**
 * `portwarden grant`, then wait until the gateway has committed the grant record: the grant
 * book follows commits, so only then does policy see it (the CLI returns once the gateway has
 * taken the request file, which is before the commit).
 */
async function grant(
  listener: string,
  duration: string,
): Promise<{ id: string; expiresMs: number }> {
  const out = await cli([
    'grant',
    '--identity',
    'alice',
    '--listener',
    listener,
    '--for',
    duration,
    '--reason',
    'INC-1234',
  ]);
  // Under load the gateway may take the request after the CLI stopped waiting; either way
  // it is recorded, which is what the wait below checks.
  expect(out).toMatch(/recorded by the running gateway|queued; the running gateway/);
  const match = /grant (\S+): alice on \S+ until (\S+):/.exec(out);
  if (match?.[1] === undefined || match[2] === undefined) throw new Error(`no grant in ${out}`);
  const id = match[1];
  await gw.waitForEvents(
    (evs) => byAction(evs, 'grant').some((e) => field(e, 'grant.id') === id),
    20_000,
  );
  return { id, expiresMs: Date.parse(match[2]) };
}

/** `portwarden grant revoke`, then wait for the revoke record's commit (as for grants). */
async function revoke(id: string): Promise<void> {
  await cli(['grant', 'revoke', id, '--reason', 'done']);
  await gw.waitForEvents(
    (evs) =>
      byAction(evs, 'grant').some(
        (e) => field(e, 'grant.id') === id && field(e, 'grant.change') === 'revoke',
      ),
    20_000,
  );
}

function redisCli(port: number, args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', [
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '--user',
      'alice',
      '--pass',
      TOKEN,
      '--no-auth-warning',
      ...args,
    ]);
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () => resolve(out));
    child.stdin.end();
  });
}

function client(listener: string): Redis {
  return new Redis({
    host: '127.0.0.1',
    port: gw.port(listener),
    username: 'alice',
    password: TOKEN,
    enableReadyCheck: false,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    lazyConnect: true,
  });
}

/** Poll `fn` until it throws (the grant ran out); fails if still allowed long after `expiresMs`. */
async function untilRefused(fn: () => Promise<unknown>, expiresMs: number): Promise<Error> {
  const deadline = expiresMs + 20_000;
  for (;;) {
    try {
      await fn();
    } catch (err) {
      return err as Error;
    }
    if (Date.now() > deadline) throw new Error('still allowed after the grant should have expired');
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * A short grant, and an ioredis client that connected and read under it. Under heavy load the
 * grant can run out before its first use (it counts from the CLI's clock); a refusal is then
 * retried with a longer grant — but a refusal while the grant should still hold fails the test.
 */
async function readUnderShortGrant(listener: string): Promise<{ c: Redis; expiresMs: number }> {
  for (let ms = 1500; ; ms *= 2) {
    const { expiresMs } = await grant(listener, `${ms}ms`);
    const c = client(listener);
    try {
      // ioredis opens with HELLO, which this deny-by-default policy allows only under a grant.
      await c.connect();
      const value = await c.get(KEY);
      if (value !== 'v1') throw new Error(`read ${String(value)} under the grant`);
      return { c, expiresMs };
    } catch (err) {
      c.disconnect();
      if (Date.now() < expiresMs || ms >= 24_000) throw err;
    }
  }
}

beforeAll(async () => {
  const policies = {
    jit: { default: 'deny', rules: [{ id: 'jit', allow: { grant: 'required' } }] },
  };
  const compiled = compilePolicies(policies);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  const listener = (name: string, onExpiry: string): Record<string, unknown> => ({
    name,
    listen: '127.0.0.1:0',
    target: '127.0.0.1:6379',
    protocol: 'redis',
    policy: 'jit',
    auth: 'gateway',
    on_grant_expiry: onExpiry,
  });
  gw = await startGateway({
    listeners: [listener('cache', 'deny'), listener('cache-close', 'close')],
    policies,
    gatewayOptions: { policies: compiled.policies },
    extra: {
      identities: [{ name: 'alice', credentials: [{ type: 'token', sha256: tokenSha256(TOKEN) }] }],
    },
  });
  direct = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await direct.connect();
  await direct.set(KEY, 'v1');
});

afterAll(async () => {
  await direct.del(KEY);
  direct.disconnect();
  await gw.stop();
});

describe('grants', () => {
  it('without a grant alice is denied; with one she is allowed; the grant is on the record', async () => {
    expect(await redisCli(gw.port('cache'), ['GET', KEY])).toContain('NOPERM');
    const { id } = await grant('cache', '1h');
    expect((await redisCli(gw.port('cache'), ['GET', KEY])).trim()).toBe('v1');
    const rec = byAction(gw.events(), 'grant').find((e) => field(e, 'grant.id') === id);
    expect(rec).toBeDefined();
    expect(field(rec as JsonObject, 'grant.identity')).toBe('alice');
    expect(field(rec as JsonObject, 'grant.reason')).toBe('INC-1234');
    expect(field(rec as JsonObject, 'user.target.name')).toBe('alice');
    expect(String(field(rec as JsonObject, 'grant.granted_by'))).toContain('cli');
    const list = await cli(['grant', 'list']);
    expect(list).toContain(id);

    await revoke(id);
    expect(await redisCli(gw.port('cache'), ['GET', KEY])).toContain('NOPERM');
  });

  it('on_grant_expiry: deny — the open session keeps running but the next command is denied', async () => {
    const { c, expiresMs } = await readUnderShortGrant('cache');
    try {
      const err = await untilRefused(() => c.get(KEY), expiresMs);
      expect(err.message).toContain('NOPERM');
      expect(Date.now()).toBeGreaterThanOrEqual(expiresMs);
      expect(c.status).toBe('ready');
    } finally {
      c.disconnect();
    }
  });

  it('on_grant_expiry: close — the session ends at the first command after expiry', async () => {
    const { c, expiresMs } = await readUnderShortGrant('cache-close');
    try {
      await untilRefused(() => c.get(KEY), expiresMs);
      const evs = await gw.waitForEvents(
        (e) =>
          byAction(e, 'connection-close').some(
            (x) =>
              field(x, 'listener.name') === 'cache-close' &&
              field(x, 'error.message') === 'grant expired',
          ),
        20_000,
      );
      const closed = byAction(evs, 'connection-close').find(
        (x) =>
          field(x, 'listener.name') === 'cache-close' &&
          field(x, 'error.message') === 'grant expired',
      );
      expect(field(closed as JsonObject, 'event.reason')).toBe('policy');
      expect(field(closed as JsonObject, 'user.name')).toBe('alice');
    } finally {
      c.disconnect();
    }
  });

  it('no token in any record', () => {
    const text = gw
      .events()
      .map((e) => JSON.stringify(e))
      .join('\n');
    expect(text).not.toContain(TOKEN);
  });
});
