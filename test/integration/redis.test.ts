/**
 * Redis through the real gateway to the local Redis 7 (127.0.0.1:6379) with real clients:
 * redis-cli (single commands, --pipe, MULTI/EXEC), ioredis (pipeline, subscribe + publish),
 * a policy denial. Counts of redis-command and redis-reply records equal what was sent.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { compilePolicies } from '../../src/policy/index.js';
import { registerProtocol } from '../../src/protocols/index.js';
import { createRedisSession } from '../../src/protocols/redis/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runToExit, type Exit } from '../helpers/run.js';

const PREFIX = `pw:it:${process.pid}:`;
let gw: TestGateway;
let direct: Redis;

function redisCli(port: number, args: readonly string[], input = ''): Promise<Exit> {
  return runToExit('redis-cli', ['-h', '127.0.0.1', '-p', String(port), ...args], input);
}

/** The connection whose command records include one with this key. */
function connectionOf(evs: readonly JsonObject[], key: string): unknown {
  const cmd = byAction(evs, 'redis-command').find((e) => field(e, 'redis.key') === key);
  return cmd === undefined ? undefined : field(cmd, 'connection.id');
}

/** Records of one connection, leaving out the COMMAND DOCS redis-cli sends when it starts. */
function onConnection(evs: readonly JsonObject[], action: string, conn: unknown): JsonObject[] {
  return byAction(evs, action).filter(
    (e) => field(e, 'connection.id') === conn && field(e, 'redis.command') !== 'command|docs',
  );
}

/** Waits until the connection holding `key` is closed and returns its records. */
async function closedConnection(key: string): Promise<{ conn: unknown; evs: JsonObject[] }> {
  const evs = await gw.waitForEvents((e) => {
    const conn = connectionOf(e, key);
    return conn !== undefined && onConnection(e, 'connection-close', conn).length === 1;
  });
  return { conn: connectionOf(evs, key), evs };
}

beforeAll(async () => {
  registerProtocol('redis', createRedisSession);
  const policies = {
    cache: {
      default: 'allow',
      rules: [{ id: 'no-dangerous', deny: { redis: { categories: ['@dangerous'] } } }],
    },
  };
  const compiled = compilePolicies(policies);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  gw = await startGateway({
    listeners: [
      { name: 'cache', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
      {
        name: 'guarded',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:6379',
        protocol: 'redis',
        policy: 'cache',
      },
    ],
    policies,
    gatewayOptions: { policies: compiled.policies },
  });
  direct = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await direct.connect();
});

afterAll(async () => {
  const keys = await direct.keys(`${PREFIX}*`);
  if (keys.length > 0) await direct.del(...keys);
  direct.disconnect();
  await gw.stop();
});

describe('redis listener with real clients', () => {
  it('redis-cli single commands: one command and one reply record each', async () => {
    const key = `${PREFIX}single`;
    const set = await redisCli(gw.port('cache'), ['SET', key, 'hello']);
    expect(set.stdout.trim()).toBe('OK');
    const get = await redisCli(gw.port('cache'), ['GET', key]);
    expect(get.stdout.trim()).toBe('hello');
    const evs = await gw.waitForEvents(
      (e) => byAction(e, 'redis-command').filter((c) => field(c, 'redis.key') === key).length === 2,
    );
    const cmds = byAction(evs, 'redis-command').filter((c) => field(c, 'redis.key') === key);
    expect(cmds.map((c) => field(c, 'redis.command'))).toEqual(['set', 'get']);
    expect(field(cmds[0] ?? {}, 'redis.acl_categories')).toContain('write');
    const done = await gw.waitForEvents((e) =>
      cmds.every((c) =>
        byAction(e, 'redis-reply').some(
          (r) => field(r, 'event.reference') === field(c, 'event.id'),
        ),
      ),
    );
    const replies = byAction(done, 'redis-reply').filter((r) =>
      cmds.some((c) => field(r, 'event.reference') === field(c, 'event.id')),
    );
    expect(replies.map((r) => field(r, 'redis.reply.type'))).toEqual(['simple', 'bulk']);
  });

  it('redis-cli --pipe: every pipelined command recorded and answered', async () => {
    const key = `${PREFIX}pipe`;
    const n = 200;
    let input = '';
    for (let i = 0; i < n; i++) {
      const args = ['RPUSH', key, `v${i}`];
      input +=
        `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
    }
    const out = await redisCli(gw.port('cache'), ['--pipe'], input);
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(new RegExp(`errors: 0, replies: ${n}\\b`));
    expect(await direct.llen(key)).toBe(n);
    const { conn, evs } = await closedConnection(key);
    // redis-cli --pipe appends one ECHO of 20 random bytes to know when the replies ended.
    const cmds = onConnection(evs, 'redis-command', conn);
    expect(cmds.map((c) => field(c, 'redis.command'))).toEqual([
      ...Array<string>(n).fill('rpush'),
      'echo',
    ]);
    expect(onConnection(evs, 'redis-reply', conn)).toHaveLength(n + 1);
  });

  it('redis-cli MULTI/EXEC: QUEUED answers each command, the array answers EXEC', async () => {
    const key = `${PREFIX}multi`;
    const out = await redisCli(gw.port('cache'), [], `MULTI\nINCR ${key}\nINCR ${key}\nEXEC\n`);
    expect(out.stdout.split('\n').map((l) => l.trim())).toEqual([
      'OK',
      'QUEUED',
      'QUEUED',
      '1',
      '2',
      '',
    ]);
    const { conn, evs } = await closedConnection(key);
    const replies = onConnection(evs, 'redis-reply', conn);
    expect(replies.map((r) => [field(r, 'redis.command'), field(r, 'redis.reply.type')])).toEqual([
      ['multi', 'simple'],
      ['incr', 'simple'],
      ['incr', 'simple'],
      ['exec', 'array'],
    ]);
  });

  it('ioredis pipeline, and subscribe + publish: pushes counted, never paired', async () => {
    const key = `${PREFIX}io`;
    const client = new Redis({ host: '127.0.0.1', port: gw.port('cache'), lazyConnect: true });
    await client.connect();
    const pipe = client.pipeline();
    for (let i = 0; i < 20; i++) pipe.incr(key);
    const results = await pipe.exec();
    expect(results?.at(-1)?.[1]).toBe(20);

    const channel = `${PREFIX}chan`;
    const sub = new Redis({ host: '127.0.0.1', port: gw.port('cache'), lazyConnect: true });
    await sub.connect();
    await sub.set(`${PREFIX}sub-marker`, '1'); // a keyed command to find the connection by
    const got: string[] = [];
    sub.on('message', (_ch: string, msg: string) => got.push(msg));
    await sub.subscribe(channel);
    for (let i = 0; i < 5; i++) await client.publish(channel, `m${i}`);
    const deadline = Date.now() + 5000;
    while (got.length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(got).toEqual(['m0', 'm1', 'm2', 'm3', 'm4']);
    await sub.unsubscribe(channel);
    await sub.quit();
    await client.quit();

    const { conn: pipeConn, evs } = await closedConnection(key);
    const pipeCmds = onConnection(evs, 'redis-command', pipeConn);
    expect(onConnection(evs, 'redis-reply', pipeConn)).toHaveLength(pipeCmds.length);
    expect(pipeCmds.filter((c) => field(c, 'redis.command') === 'incr')).toHaveLength(20);

    const { conn: subConn, evs: evs2 } = await closedConnection(`${PREFIX}sub-marker`);
    const subCmds = onConnection(evs2, 'redis-command', subConn);
    const subReplies = onConnection(evs2, 'redis-reply', subConn);
    expect(subCmds.map((c) => field(c, 'redis.command'))).toEqual(
      expect.arrayContaining(['set', 'subscribe', 'unsubscribe', 'quit']),
    );
    expect(subReplies).toHaveLength(subCmds.length);
    const close = onConnection(evs2, 'connection-close', subConn)[0] ?? {};
    expect(field(close, 'redis.pushes')).toBe(5);
  });

  it('never records an AUTH or HELLO AUTH password', async () => {
    const key = `${PREFIX}auth`;
    await redisCli(
      gw.port('cache'),
      [],
      `AUTH pw-secret-1\nAUTH alice pw-secret-2\nHELLO 3 AUTH bob pw-secret-3\nGET ${key}\n`,
    );
    const { conn, evs } = await closedConnection(key);
    const cmds = onConnection(evs, 'redis-command', conn);
    expect(cmds.map((c) => [field(c, 'redis.command'), field(c, 'redis.args_count')])).toEqual([
      ['auth', 1],
      ['auth', 2],
      ['hello', 4],
      ['get', 1],
    ]);
    expect(onConnection(evs, 'redis-reply', conn)).toHaveLength(4);
    expect(JSON.stringify(gw.events())).not.toMatch(/pw-secret/);
  });

  it('policy denial: -NOPERM to the client, nothing reaches Redis', async () => {
    const key = `${PREFIX}keep`;
    await direct.set(key, 'still here');
    const out = await redisCli(gw.port('guarded'), [], `FLUSHALL\nGET ${key}\n`);
    expect(out.stdout).toMatch(
      /NOPERM this user has no permissions to run the 'flushall' command \(portwarden policy, rule no-dangerous\)/,
    );
    expect(out.stdout).toMatch(/still here/);
    expect(await direct.get(key)).toBe('still here');
    const { conn, evs } = await closedConnection(key);
    const denied = onConnection(evs, 'redis-command', conn).filter(
      (c) => field(c, 'redis.command') === 'flushall',
    );
    expect(
      denied.map((c) => [field(c, 'event.type'), field(c, 'event.outcome'), field(c, 'rule.id')]),
    ).toEqual([[['access', 'denied'], 'failure', 'no-dangerous']]);
  });
});
