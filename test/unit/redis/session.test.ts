import { describe, expect, it } from 'vitest';
import { createRedisSession } from '../../../src/protocols/redis/index.js';
import type { ActionFacts, Decision } from '../../../src/policy/action.js';
import { chunkings } from '../../helpers/redis-feed.js';
import {
  redisFakeContext,
  type RecordedEvent,
  type RedisFakeOptions,
} from '../../helpers/redis-fake-context.js';
import * as R from '../../helpers/redis-resp.js';

/** A field of a record by dotted path (`redis.reply.type`). */
function get(record: RecordedEvent | undefined, path: string): unknown {
  let value: unknown = record;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

function start(options: RedisFakeOptions = {}) {
  const ctx = redisFakeContext(options);
  return { ctx, session: createRedisSession(ctx) };
}

const denyFlush = (action: ActionFacts): Decision =>
  action.protocol === 'redis' && action.categories.includes('dangerous')
    ? { verdict: 'deny', ruleId: 'no-dangerous', reason: 'rule no-dangerous' }
    : { verdict: 'allow', reason: 'allowed' };

describe('Redis session — commands and replies', () => {
  it('records a command, forwards its bytes, pairs the reply by reference', () => {
    const { ctx, session } = start();
    const cmd = R.command('GET', 'user:1');
    session.onClientData(cmd);
    expect(ctx.upstreamBytes()).toEqual(cmd);
    const [command] = ctx.actions('redis-command');
    expect(get(command, 'redis')).toEqual({
      command: 'get',
      key: 'user:1',
      args_count: 1,
      acl_categories: ['read', 'string', 'fast'],
    });
    expect(get(command, 'event.type')).toEqual(['access', 'allowed']);
    expect(ctx.decisions).toEqual([
      {
        protocol: 'redis',
        command: 'get',
        categories: ['read', 'string', 'fast'],
        keys: ['user:1'],
        keysComplete: true,
      },
    ]);
    const reply = R.bulk('alice');
    session.onServerData(reply);
    expect(ctx.clientBytes()).toEqual(reply);
    const [result] = ctx.actions('redis-reply');
    expect(get(result, 'event.reference')).toBe(command?.id);
    expect(get(result, 'event.outcome')).toBe('success');
    expect(get(result, 'redis.reply.type')).toBe('bulk');
    expect(get(result, 'event.duration')).toBeGreaterThan(0);
  });

  it('records errors with their code and message, outcome failure', () => {
    const { ctx, session } = start();
    session.onClientData(R.command('INCR', 'name'));
    session.onServerData(R.error('ERR value is not an integer or out of range'));
    const [result] = ctx.actions('redis-reply');
    expect(get(result, 'event.outcome')).toBe('failure');
    expect(get(result, 'redis.reply')).toEqual({
      type: 'error',
      error: { code: 'ERR', message: 'ERR value is not an integer or out of range' },
    });
  });

  it('pairs pipelined replies in order however both streams are chunked', () => {
    const commands = R.join(
      R.command('SET', 'a', 'x'.repeat(50)),
      R.inline('GET a'),
      R.command('HGETALL', 'h'),
    );
    const replies = R.join(
      R.simple('OK'),
      R.bulk('x'.repeat(50)),
      R.array(R.bulk('f'), R.bulk('v')),
    );
    const cuts = chunkings(commands);
    const replyCuts = chunkings(replies);
    for (let i = 0; i < Math.max(cuts.length, replyCuts.length); i++) {
      const { ctx, session } = start();
      for (const c of cuts[i % cuts.length]?.chunks ?? []) session.onClientData(c);
      for (const c of replyCuts[i % replyCuts.length]?.chunks ?? []) session.onServerData(c);
      expect(ctx.upstreamBytes()).toEqual(commands);
      expect(ctx.clientBytes()).toEqual(replies);
      const names = ctx
        .actions('redis-reply')
        .map((r) => [get(r, 'redis.command'), get(r, 'redis.reply.type')]);
      expect(names).toEqual([
        ['set', 'simple'],
        ['get', 'bulk'],
        ['hgetall', 'array'],
      ]);
      const ids = ctx.actions('redis-command').map((r) => r.id);
      expect(ctx.actions('redis-reply').map((r) => get(r, 'event.reference'))).toEqual(ids);
    }
  });

  it('streams a large argument upstream before the command ends', () => {
    const { ctx, session } = start();
    const cmd = R.command('SET', 'big', 'v'.repeat(10_000));
    // Name and key known after a few bytes: recorded, decided, then the value streams through.
    session.onClientData(cmd.subarray(0, 10));
    expect(ctx.actions('redis-command')).toHaveLength(0);
    session.onClientData(cmd.subarray(10, 4000));
    expect(get(ctx.actions('redis-command')[0], 'redis.key')).toBe('big');
    expect(ctx.upstreamBytes()).toEqual(cmd.subarray(0, 4000));
    session.onClientData(cmd.subarray(4000));
    expect(ctx.upstreamBytes()).toEqual(cmd);
  });
});

describe('Redis session — policy', () => {
  it('drops a denied command and answers -NOPERM in its place in the reply order', () => {
    const { ctx, session } = start({ decide: denyFlush });
    const stream = R.join(R.command('GET', 'a'), R.command('FLUSHALL'), R.command('GET', 'b'));
    for (const { name, chunks } of chunkings(stream)) {
      const run = start({ decide: denyFlush });
      for (const c of chunks) run.session.onClientData(c);
      expect(run.ctx.upstreamBytes(), name).toEqual(
        R.join(R.command('GET', 'a'), R.command('GET', 'b')),
      );
    }
    session.onClientData(stream);
    expect(ctx.clientBytes()).toHaveLength(0); // the denial waits for GET a's reply
    session.onServerData(R.join(R.bulk('1'), R.bulk('2')));
    const denial =
      "-NOPERM this user has no permissions to run the 'flushall' command (portwarden policy, rule no-dangerous)\r\n";
    expect(ctx.clientBytes().toString()).toBe(`$1\r\n1\r\n${denial}$1\r\n2\r\n`);
    const denied = ctx.actions('redis-command')[1];
    expect(get(denied, 'event.type')).toEqual(['access', 'denied']);
    expect(get(denied, 'event.outcome')).toBe('failure');
    expect(get(denied, 'rule.id')).toBe('no-dangerous');
    const replies = ctx.actions('redis-reply');
    expect(replies.map((r) => get(r, 'event.reference'))).toEqual(
      ctx.actions('redis-command').map((r) => r.id),
    );
    expect(get(replies[1], 'redis.reply.error.code')).toBe('NOPERM');
  });

  it('answers a denial at once when nothing is outstanding', () => {
    const { ctx, session } = start({ decide: denyFlush });
    session.onClientData(R.inline('CONFIG SET requirepass x'));
    expect(ctx.upstream).toHaveLength(0);
    expect(ctx.clientBytes().toString()).toMatch(/^-NOPERM .*'config\|set'/);
    expect(ctx.decisions[0]).toMatchObject({ command: 'config|set' });
  });

  it('asks policy about unknown commands with category unknown, keys not known', () => {
    const { ctx, session } = start();
    session.onClientData(R.command('NOSUCH', 'x'));
    expect(ctx.decisions).toEqual([
      {
        protocol: 'redis',
        command: 'nosuch',
        categories: ['unknown'],
        keys: [],
        keysComplete: false,
      },
    ]);
  });
});

describe('Redis session — secrets and identity', () => {
  it('never records an AUTH password, even with values on; sets the user on success', () => {
    const { ctx, session } = start({ recordValues: true });
    session.onClientData(
      R.join(R.command('AUTH', 's3cret-one'), R.command('AUTH', 'bob', 's3cret-two')),
    );
    session.onServerData(R.join(R.simple('OK'), R.simple('OK')));
    expect(JSON.stringify(ctx.records)).not.toMatch(/s3cret/);
    expect(ctx.actions('redis-command').map((r) => get(r, 'redis'))).toEqual([
      { command: 'auth', args_count: 1, acl_categories: ['fast', 'connection'] },
      { command: 'auth', args_count: 2, acl_categories: ['fast', 'connection'] },
    ]);
    expect(ctx.identities).toEqual([{ user: 'default' }, { user: 'bob' }]);
  });

  it('does not set identity when AUTH fails', () => {
    const { ctx, session } = start();
    session.onClientData(R.command('AUTH', 'bob', 'wrong'));
    session.onServerData(R.error('WRONGPASS invalid username-password pair'));
    expect(ctx.identities).toEqual([]);
  });

  it('HELLO 3 AUTH: no password recorded, RESP3 replies parse, pushes never pair', () => {
    const { ctx, session } = start({ recordValues: true });
    session.onClientData(R.command('HELLO', '3', 'AUTH', 'carol', 'pw-h3llo'));
    session.onServerData(
      R.map([R.bulk('server'), R.bulk('redis')], [R.bulk('proto'), R.integer(3)]),
    );
    expect(ctx.identities).toEqual([{ user: 'carol' }]);
    session.onClientData(R.command('GET', 'k'));
    // An invalidation push arrives before GET's reply.
    session.onServerData(R.join(R.push(R.bulk('invalidate'), R.array(R.bulk('k'))), R.null3()));
    const replies = ctx.actions('redis-reply');
    expect(replies.map((r) => [get(r, 'redis.command'), get(r, 'redis.reply.type')])).toEqual([
      ['hello', 'map'],
      ['get', 'null'],
    ]);
    expect(JSON.stringify(ctx.records)).not.toMatch(/pw-h3llo/);
    session.onClose?.();
    expect(ctx.annotations).toEqual([{ redis: { pushes: 1 } }]);
  });

  it('records values when the listener asks, redacting CONFIG SET passwords', () => {
    const { ctx, session } = start({ recordValues: true });
    session.onClientData(R.command('CONFIG', 'SET', 'masterauth', 'hunter2', 'maxmemory', '1mb'));
    expect(get(ctx.actions('redis-command')[0], 'redis.values')).toEqual([
      'SET',
      'masterauth',
      '(redacted)',
      'maxmemory',
      '1mb',
    ]);
  });
});

describe('Redis session — transactions, pub/sub, MONITOR', () => {
  it('MULTI/EXEC: QUEUED answers each command, the array answers EXEC', () => {
    const { ctx, session } = start();
    session.onClientData(
      R.join(R.command('MULTI'), R.command('INCR', 'a'), R.command('INCR', 'b'), R.command('EXEC')),
    );
    session.onServerData(
      R.join(
        R.simple('OK'),
        R.simple('QUEUED'),
        R.simple('QUEUED'),
        R.array(R.integer(1), R.integer(1)),
      ),
    );
    expect(
      ctx.actions('redis-reply').map((r) => [get(r, 'redis.command'), get(r, 'redis.reply.type')]),
    ).toEqual([
      ['multi', 'simple'],
      ['incr', 'simple'],
      ['incr', 'simple'],
      ['exec', 'array'],
    ]);
  });

  it('RESP2 subscribe: confirmations pair (one per channel), messages are counted pushes', () => {
    const { ctx, session } = start();
    session.onClientData(R.command('SUBSCRIBE', 'a', 'b'));
    const confirm = (kind: string, ch: string, n: number) =>
      R.array(R.bulk(kind), R.bulk(ch), R.integer(n));
    session.onServerData(
      R.join(
        confirm('subscribe', 'a', 1),
        R.array(R.bulk('message'), R.bulk('a'), R.bulk('hi')),
        confirm('subscribe', 'b', 2),
        R.array(R.bulk('message'), R.bulk('b'), R.bulk('yo')),
      ),
    );
    expect(ctx.actions('redis-reply')).toHaveLength(1);
    session.onClientData(R.join(R.command('PING'), R.command('UNSUBSCRIBE')));
    session.onServerData(
      R.join(
        R.array(R.bulk('pong'), R.bulk('')),
        R.array(R.bulk('message'), R.bulk('a'), R.bulk('late')),
        confirm('unsubscribe', 'a', 1),
        confirm('unsubscribe', 'b', 0),
      ),
    );
    session.onClientData(R.command('GET', 'k'));
    session.onServerData(R.array(R.bulk('message'), R.bulk('x'))); // after unsubscribing: a reply
    expect(ctx.actions('redis-reply').map((r) => get(r, 'redis.command'))).toEqual([
      'subscribe',
      'ping',
      'unsubscribe',
      'get',
    ]);
    session.onClose?.();
    expect(ctx.annotations).toEqual([{ redis: { pushes: 3 } }]);
  });

  it('RESP3 subscribe: confirmation pushes pay the command, message pushes do not', () => {
    const { ctx, session } = start();
    session.onClientData(R.command('HELLO', '3'));
    session.onServerData(R.map());
    session.onClientData(R.join(R.command('SUBSCRIBE', 'a'), R.command('GET', 'k')));
    session.onServerData(
      R.join(
        R.push(R.bulk('subscribe'), R.bulk('a'), R.integer(1)),
        R.push(R.bulk('message'), R.bulk('a'), R.bulk('hi')),
        R.bulk('v'),
      ),
    );
    expect(
      ctx.actions('redis-reply').map((r) => [get(r, 'redis.command'), get(r, 'redis.reply.type')]),
    ).toEqual([
      ['hello', 'map'],
      ['subscribe', 'push'],
      ['get', 'bulk'],
    ]);
  });

  it('MONITOR: after +OK every line is a push, until RESET', () => {
    const { ctx, session } = start();
    session.onClientData(R.command('MONITOR'));
    session.onServerData(
      R.join(R.simple('OK'), R.simple('1700000000.1 [0 1.2.3.4:5] "get" "k"'), R.simple('OK')),
    );
    session.onClientData(R.command('RESET'));
    session.onServerData(R.join(R.simple('1700000000.2 [0 1.2.3.4:5] "reset"'), R.simple('RESET')));
    session.onClientData(R.command('PING'));
    session.onServerData(R.simple('PONG'));
    expect(ctx.actions('redis-reply').map((r) => get(r, 'redis.command'))).toEqual([
      'monitor',
      'reset',
      'ping',
    ]);
    session.onClose?.();
    expect(ctx.annotations).toEqual([{ redis: { pushes: 3 } }]);
  });

  it('CLIENT REPLY OFF: commands are recorded but owed no reply until ON', () => {
    const { ctx, session } = start();
    session.onClientData(
      R.join(
        R.command('CLIENT', 'REPLY', 'OFF'),
        R.command('SET', 'a', '1'),
        R.command('CLIENT', 'REPLY', 'ON'),
      ),
    );
    session.onServerData(R.simple('OK'));
    expect(ctx.actions('redis-command')).toHaveLength(3);
    expect(ctx.actions('redis-reply').map((r) => get(r, 'redis.command'))).toEqual([
      'client|reply',
    ]);
  });
});

describe('Redis session — failures', () => {
  it('answers malformed client input with -ERR Protocol error and closes', () => {
    const { ctx, session } = start();
    session.onClientData(Buffer.from('*1\r\n:1\r\n'));
    expect(ctx.clientBytes().toString()).toBe("-ERR Protocol error: expected '$', got ':'\r\n");
    expect(ctx.closed).toEqual({
      reason: 'protocol-error',
      detail: "client: expected '$', got ':'",
    });
    expect(ctx.upstream).toHaveLength(0);
    session.onClientData(R.command('PING'));
    expect(ctx.upstream).toHaveLength(0);
  });

  it('closes on a malformed server reply', () => {
    const { ctx, session } = start();
    session.onClientData(R.command('PING'));
    session.onServerData(Buffer.from('?\r\n'));
    expect(ctx.closed?.reason).toBe('protocol-error');
  });

  it('records unanswered commands with outcome unknown when the connection ends', () => {
    const { ctx, session } = start();
    session.onClientData(R.command('BLPOP', 'q', '0'));
    session.onClose?.();
    const [reply] = ctx.actions('redis-reply');
    expect(get(reply, 'event.outcome')).toBe('unknown');
    expect(get(reply, 'event.reference')).toBe(ctx.actions('redis-command')[0]?.id);
  });
});
