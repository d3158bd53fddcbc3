/**
 * A command denied inside MULTI, through the real gateway to the local Redis 7: Redis' own
 * rule for queue-time errors applies — EXEC answers -EXECABORT and nothing of the
 * transaction runs. Checked with redis-cli, a raw RESP2 and RESP3 pipeline (one write), and
 * side by side with Redis' own ACL doing the same denial directly.
 */
import { connect, type Socket } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { compilePolicies } from '../../src/policy/index.js';
import { registerProtocol } from '../../src/protocols/index.js';
import { createRedisSession } from '../../src/protocols/redis/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import * as R from '../helpers/redis-resp.js';
import { runToExit } from '../helpers/run.js';
import { until } from '../helpers/wait.js';

const PREFIX = `pw:it:multi:${process.pid}:`;
const ACL_USER = `pw_multi_${process.pid}`;
let gw: TestGateway;
let direct: Redis;

beforeAll(async () => {
  registerProtocol('redis', createRedisSession);
  const policies = {
    cache: {
      default: 'allow',
      rules: [{ id: 'no-flushall', deny: { redis: { commands: ['flushall'] } } }],
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
    ],
    policies,
    gatewayOptions: { policies: compiled.policies },
  });
  direct = new Redis({ host: '127.0.0.1', port: 6379, lazyConnect: true });
  await direct.connect();
  await direct.call('ACL', 'SETUSER', ACL_USER, 'on', 'nopass', '~*', '&*', '+@all', '-flushall');
});

afterAll(async () => {
  const keys = await direct.keys(`${PREFIX}*`);
  if (keys.length > 0) await direct.del(...keys);
  await direct.call('ACL', 'DELUSER', ACL_USER);
  direct.disconnect();
  await gw.stop();
});

/** Sends `bytes` in one write and reads until `complete` says the replies are all in. */
async function exchange(
  port: number,
  bytes: Buffer,
  complete: (text: string) => boolean,
): Promise<string> {
  const socket: Socket = connect(port, '127.0.0.1');
  let text = '';
  socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(bytes);
  await until(() => complete(text), 10_000, 'all replies');
  socket.end();
  return text;
}

/** Reply lines without the text of error messages (gateway and Redis word NOPERM differently). */
function shapes(text: string): string[] {
  return text
    .split('\r\n')
    .filter((l) => l !== '')
    .map((l) => (l.startsWith('-') ? (l.split(' ')[0] ?? l) : l));
}

/** Records of the one connection whose commands include this key, once it has closed. */
async function recordsOf(key: string): Promise<{ cmds: JsonObject[]; replies: JsonObject[] }> {
  const connOf = (evs: readonly JsonObject[]): unknown =>
    field(
      byAction(evs, 'redis-command').find((e) => field(e, 'redis.key') === key) ?? {},
      'connection.id',
    );
  const evs = await gw.waitForEvents((e) => {
    const conn = connOf(e);
    return (
      conn !== undefined &&
      byAction(e, 'connection-close').some((c) => field(c, 'connection.id') === conn)
    );
  });
  const conn = connOf(evs);
  const mine = (action: string): JsonObject[] =>
    byAction(evs, action).filter(
      (e) => field(e, 'connection.id') === conn && field(e, 'redis.command') !== 'command|docs',
    );
  return { cmds: mine('redis-command'), replies: mine('redis-reply') };
}

describe('redis: a command denied inside MULTI aborts the transaction', () => {
  it('redis-cli: NOPERM at queue time, EXECABORT at EXEC, nothing ran, session goes on', async () => {
    const key = `${PREFIX}cli`;
    const out = await runToExit(
      'redis-cli',
      ['-h', '127.0.0.1', '-p', String(gw.port('guarded'))],
      `MULTI\nINCR ${key}\nFLUSHALL\nINCR ${key}\nEXEC\nINCR ${key}\n`,
    );
    // redis-cli prints a blank line after each error.
    const lines = out.stdout
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    expect(lines[0]).toBe('OK');
    expect(lines[1]).toBe('QUEUED');
    expect(lines[2]).toMatch(/^NOPERM .*'flushall'.*rule no-flushall/);
    expect(lines[3]).toBe('QUEUED');
    expect(lines[4]).toBe('EXECABORT Transaction discarded because of previous errors.');
    // The transaction's INCRs never ran; the INCR after it did, outside any MULTI.
    expect(lines[5]).toBe('1');
    expect(await direct.get(key)).toBe('1');

    const { cmds, replies } = await recordsOf(key);
    expect(cmds.map((c) => field(c, 'redis.command'))).toEqual([
      'multi',
      'incr',
      'flushall',
      'incr',
      'exec',
      'incr',
    ]);
    expect(replies.map((r) => field(r, 'event.reference'))).toEqual(
      cmds.map((c) => field(c, 'event.id')),
    );
    const exec = replies[4] ?? {};
    expect(field(exec, 'event.outcome')).toBe('failure');
    expect(field(exec, 'redis.reply.error.code')).toBe('EXECABORT');
    expect(field(exec, 'event.reason')).toBe(
      "transaction discarded: 'flushall' was denied inside MULTI (rule no-flushall)",
    );
  });

  it('raw RESP2 pipeline in one write: the same replies as Redis gives its own ACL denial', async () => {
    const key = `${PREFIX}raw2`;
    const pipeline = R.join(
      R.command('MULTI'),
      R.command('SET', key, 'in-tx'),
      R.command('FLUSHALL'),
      R.command('EXEC'),
      R.command('GET', key),
    );
    const done = (t: string): boolean => shapes(t).length >= 5;
    const viaGateway = await exchange(gw.port('guarded'), pipeline, done);
    const acl = R.command('AUTH', ACL_USER, 'any');
    const viaRedis = await exchange(6379, R.join(acl, pipeline), (t) => shapes(t).length >= 6);
    expect(shapes(viaGateway)).toEqual(['+OK', '+QUEUED', '-NOPERM', '-EXECABORT', '$-1']);
    expect(shapes(viaRedis).slice(1)).toEqual(shapes(viaGateway));
    expect(await direct.exists(key)).toBe(0);
  });

  it('raw RESP3 pipeline: HELLO 3, then the same abort; the connection stays usable', async () => {
    const key = `${PREFIX}raw3`;
    const text = await exchange(
      gw.port('guarded'),
      R.join(
        R.command('HELLO', '3'),
        R.command('MULTI'),
        R.command('INCR', key),
        R.command('FLUSHALL'),
        R.command('EXEC'),
        R.command('MULTI'),
        R.command('INCR', key),
        R.command('EXEC'),
      ),
      (t) => t.includes('*1\r\n:1\r\n'),
    );
    const afterHello = text.slice(text.indexOf('+OK\r\n'));
    expect(shapes(afterHello)).toEqual([
      '+OK',
      '+QUEUED',
      '-NOPERM',
      '-EXECABORT',
      '+OK',
      '+QUEUED',
      '*1',
      ':1',
    ]);
    expect(await direct.get(key)).toBe('1');
  });
});
