/**
 * Every key of a command, not only the first few arguments: the gateway's key finding agrees
 * with the local Redis 7's own COMMAND GETKEYS, and through the real gateway a `redis.keys`
 * deny rule catches a key at position 20 of DEL, MSET, EVAL and XREAD (redis-cli), records
 * list the keys, and a command with more keys than the gateway reads is denied (fail closed)
 * under a key rule and recorded as truncated.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { compilePolicies } from '../../src/policy/index.js';
import { registerProtocol } from '../../src/protocols/index.js';
import { createRedisSession, resolveCommand } from '../../src/protocols/redis/index.js';
import { commandKeys } from '../../src/protocols/redis/commands.js';
import { MAX_KEYS } from '../../src/protocols/redis/keys.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runToExit, type Exit } from '../helpers/run.js';

const PREFIX = `pw:it:keys:${process.pid}:`;
let gw: TestGateway;
let direct: Redis;

const key = (name: string): string => `${PREFIX}${name}`;
const keys = (n: number, name = 'k'): string[] =>
  Array.from({ length: n }, (_, i) => key(`${name}${i + 1}`));

function redisCli(listener: string, args: readonly string[]): Promise<Exit> {
  return runToExit('redis-cli', ['-h', '127.0.0.1', '-p', String(gw.port(listener)), ...args]);
}

/** The redis-command record of the command whose first key is `first`. */
async function commandWith(first: string): Promise<JsonObject> {
  const evs = await gw.waitForEvents((e) =>
    byAction(e, 'redis-command').some((c) => field(c, 'redis.key') === first),
  );
  const found = byAction(evs, 'redis-command').find((c) => field(c, 'redis.key') === first);
  if (found === undefined) throw new Error(`no record for ${first}`);
  return found;
}

beforeAll(async () => {
  registerProtocol('redis', createRedisSession);
  const policies = {
    cache: {
      default: 'allow',
      rules: [{ id: 'no-secrets', deny: { redis: { keys: [`${PREFIX}secret:*`] } } }],
    },
  };
  const compiled = compilePolicies(policies);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  gw = await startGateway({
    listeners: [
      {
        name: 'guarded',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:6379',
        protocol: 'redis',
        policy: 'cache',
      },
      { name: 'open', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
    ],
    policies,
    gatewayOptions: { policies: compiled.policies },
  });
  direct = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await direct.connect();
});

afterAll(async () => {
  const left = await direct.keys(`${PREFIX}*`);
  if (left.length > 0) await direct.del(...left);
  direct.disconnect();
  await gw.stop();
});

describe("key finding agrees with Redis' COMMAND GETKEYS", () => {
  const commands: string[][] = [
    ['DEL', ...'abcdefghijklmnopqrst'.split('')],
    ['MSET', 'a', '1', 'b', '2', 'c', '3', 'd', '4', 'e', '5', 'f', '6', 'g', '7', 'h', '8'],
    ['MGET', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j'],
    ['EVAL', 'return 1', '10', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'x', 'y'],
    [
      'XREAD',
      'COUNT',
      '1',
      'BLOCK',
      '0',
      'STREAMS',
      'a',
      'b',
      'c',
      'd',
      'e',
      '0',
      '0',
      '0',
      '0',
      '0',
    ],
    ['XREADGROUP', 'GROUP', 'g', 'c', 'STREAMS', 's1', 's2', '>', '>'],
    ['ZUNIONSTORE', 'dst', '5', 'a', 'b', 'c', 'd', 'e', 'WEIGHTS', '1', '1', '1', '1', '1'],
    ['ZINTER', '3', 'a', 'b', 'c', 'WITHSCORES'],
    ['BLMPOP', '0', '3', 'a', 'b', 'c', 'LEFT', 'COUNT', '2'],
    ['BLPOP', 'a', 'b', 'c', 'd', '0'],
    ['BITOP', 'OR', 'dst', 'a', 'b', 'c'],
    ['SINTERSTORE', 'dst', 'a', 'b', 'c'],
    ['GEORADIUS', 'geo', '15', '37', '200', 'km', 'WITHDIST', 'STORE', 'dst'],
    ['SORT', 'list', 'LIMIT', '0', '10', 'ALPHA', 'STORE', 'dst'],
    ['MIGRATE', 'h', '6379', '', '0', '5000', 'COPY', 'KEYS', 'a', 'b', 'c'],
    ['RENAME', 'a', 'b'],
    ['OBJECT', 'ENCODING', 'a'],
    ['LCS', 'a', 'b'],
    ['PFMERGE', 'dst', 'a', 'b'],
  ];
  it.each(commands.map((c) => [c[0] ?? '', c]))('%s', async (_name, words) => {
    const fromRedis = (await direct.call('COMMAND', 'GETKEYS', ...words)) as string[];
    const args = words.map((w) => Buffer.from(w));
    const found = commandKeys(resolveCommand(args, args.length), args, args.length);
    expect(found.keys.map(String)).toEqual(fromRedis);
    expect(found.complete).toBe(true);
  });
});

describe('a redis.keys deny rule sees every key, through the gateway', () => {
  it('DEL with the denied key 20th: -NOPERM, nothing deleted; without it: all deleted', async () => {
    const names = [...keys(19, 'del'), key('secret:del')];
    await direct.mset(...names.flatMap((n) => [n, 'v']));
    const denied = await redisCli('guarded', ['DEL', ...names]);
    expect(denied.stdout).toMatch(/NOPERM .*'del'.*rule no-secrets/);
    expect(await direct.exists(...names)).toBe(20);
    const record = await commandWith(names[0] ?? '');
    expect(field(record, 'redis.keys')).toEqual(names);
    expect(field(record, 'redis.keys_count')).toBe(20);
    expect(field(record, 'event.type')).toEqual(['access', 'denied']);
    expect(field(record, 'rule.id')).toBe('no-secrets');

    const allowed = await redisCli('guarded', ['DEL', ...names.slice(0, 19)]);
    expect(allowed.stdout.trim()).toBe('19');
    expect(await direct.exists(...names)).toBe(1);
  });

  it('MSET, EVAL and XREAD with the denied key beyond the 8th argument', async () => {
    const mset = [...keys(19, 'mset'), key('secret:mset')];
    const out1 = await redisCli('guarded', ['MSET', ...mset.flatMap((k) => [k, 'value'])]);
    expect(out1.stdout).toMatch(/NOPERM .*'mset'/);
    expect(await direct.exists(...mset)).toBe(0);

    const evalKeys = [...keys(19, 'eval'), key('secret:eval')];
    const out2 = await redisCli('guarded', ['EVAL', 'return 1', '20', ...evalKeys, 'arg']);
    expect(out2.stdout).toMatch(/NOPERM .*'eval'/);

    const streams = [...keys(9, 'stream'), key('secret:stream')];
    const out3 = await redisCli('guarded', [
      'XREAD',
      'COUNT',
      '1',
      'STREAMS',
      ...streams,
      ...streams.map(() => '0'),
    ]);
    expect(out3.stdout).toMatch(/NOPERM .*'xread'/);
    const record = await commandWith(streams[0] ?? '');
    expect(field(record, 'redis.keys')).toEqual(streams);
  });

  it(`more than ${MAX_KEYS} keys: denied under a key rule (fail closed), recorded as truncated`, async () => {
    const many = keys(MAX_KEYS + 10, 'many');
    const denied = await redisCli('guarded', ['EXISTS', ...many]);
    expect(denied.stdout).toMatch(/NOPERM .*'exists'/);
    const open = await redisCli('open', ['EXISTS', ...many]);
    expect(open.stdout.trim()).toBe('0');
    const evs = await gw.waitForEvents(
      (e) =>
        byAction(e, 'redis-command').filter((c) => field(c, 'redis.key') === many[0]).length === 2,
    );
    const records = byAction(evs, 'redis-command').filter((c) => field(c, 'redis.key') === many[0]);
    for (const r of records) {
      expect(field(r, 'redis.keys_truncated')).toBe(true);
      expect(field(r, 'redis.keys_count')).toBe(MAX_KEYS + 10);
      expect(field(r, 'redis.keys')).toEqual(many.slice(0, 64));
    }
    expect(records.map((r) => field(r, 'event.type'))).toEqual([
      ['access', 'denied'],
      ['access', 'allowed'],
    ]);
  });
});
