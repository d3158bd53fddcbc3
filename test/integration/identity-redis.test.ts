/**
 * Redis with listener `auth: gateway`, real redis-cli against the local Redis 7: the client
 * signs in as a portwarden identity with a token; the gateway signs in to Redis with its own
 * ACL user. Records name the person; Redis sees only the mapped user; no token anywhere.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { tokenSha256 } from '../../src/identity/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitForRecord } from '../helpers/records.js';
import { runToExit } from '../helpers/run.js';

const TOKEN = `tok-${randomBytes(16).toString('hex')}`;
const UPSTREAM_USER = `pw_gw_${process.pid}`;
const UPSTREAM_PASS = randomBytes(16).toString('hex');
const PASS_ENV = `PW_TEST_REDIS_PASS_${process.pid}`;
let gw: TestGateway;
let direct: Redis;

/** redis-cli's exit code and everything it printed (replies on stdout, errors on stderr). */
async function redisCli(
  port: number,
  args: readonly string[],
): Promise<{ code: number; out: string }> {
  const r = await runToExit('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args]);
  return { code: r.code, out: r.stdout + r.stderr };
}

function storeText(): string {
  return gw
    .events()
    .map((e) => JSON.stringify(e))
    .join('\n');
}

beforeAll(async () => {
  direct = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await direct.connect();
  await direct.call(
    'ACL',
    'SETUSER',
    UPSTREAM_USER,
    'on',
    `>${UPSTREAM_PASS}`,
    '~*',
    '&*',
    '+@all',
  );
  process.env[PASS_ENV] = UPSTREAM_PASS;
  gw = await startGateway({
    listeners: [
      {
        name: 'cache',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:6379',
        protocol: 'redis',
        auth: 'gateway',
        upstream_user: UPSTREAM_USER,
        upstream_password_env: PASS_ENV,
      },
    ],
    extra: {
      identities: [
        {
          name: 'alice',
          kind: 'person',
          groups: ['dba', 'oncall'],
          credentials: [{ type: 'token', sha256: tokenSha256(TOKEN) }],
        },
      ],
    },
  });
});

afterAll(async () => {
  await gw.stop();
  await direct.call('ACL', 'DELUSER', UPSTREAM_USER);
  direct.disconnect();
  delete process.env[PASS_ENV];
});

describe('redis auth: gateway', () => {
  it('signs alice in; Redis sees the gateway ACL user; records name alice', async () => {
    const r = await redisCli(gw.port('cache'), [
      '--user',
      'alice',
      '--pass',
      TOKEN,
      '--no-auth-warning',
      'ACL',
      'WHOAMI',
    ]);
    expect(r.out.trim()).toBe(UPSTREAM_USER);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'redis-reply').some((x) => field(x, 'redis.command') === 'acl|whoami'),
    );
    const cmd = byAction(evs, 'redis-command').find(
      (x) => field(x, 'redis.command') === 'acl|whoami',
    );
    expect(cmd).toBeDefined();
    expect(field(cmd as JsonObject, 'user.name')).toBe('alice');
    expect(field(cmd as JsonObject, 'user.roles')).toEqual(['dba', 'oncall']);
    expect(field(cmd as JsonObject, 'user.auth_method')).toBe('token');
    const login = byAction(evs, 'db-login').find((x) => field(x, 'event.outcome') === 'success');
    expect(field(login as JsonObject, 'user.name')).toBe('alice');
    // No redis-command record for the AUTH itself: it never reached Redis.
    expect(byAction(evs, 'redis-command').some((x) => field(x, 'redis.command') === 'auth')).toBe(
      false,
    );
  });

  it('refuses a wrong token with WRONGPASS, answers NOAUTH, records the failure', async () => {
    const r = await redisCli(gw.port('cache'), [
      '--user',
      'alice',
      '--pass',
      'not-the-token',
      '--no-auth-warning',
      'GET',
      'x',
    ]);
    expect(r.out).toMatch(/WRONGPASS|NOAUTH/);
    const failed = await waitForRecord(
      gw,
      'db-login',
      (x) => field(x, 'event.outcome') === 'failure',
    );
    expect(field(failed, 'event.reason')).toBe('wrong token');
    expect(field(failed, 'user.name')).toBe('alice');
    expect(storeText()).not.toContain('not-the-token');
  });

  it('keeps the token and the upstream password out of every record', () => {
    const text = storeText();
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(UPSTREAM_PASS);
  });
});
