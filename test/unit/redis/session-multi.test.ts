/**
 * A command denied inside MULTI dooms the transaction, as Redis' own queue-time errors do
 * (multi.c flagTransaction/execCommand): the EXEC goes upstream as DISCARD, its +OK is
 * swallowed and the client gets -EXECABORT in the EXEC's place; both streams cut everywhere.
 * Keys beyond the first arguments reach policy.
 */
import { describe, expect, it } from 'vitest';
import type { ActionFacts, Decision } from '../../../src/policy/action.js';
import { createRedisSession } from '../../../src/protocols/redis/index.js';
import { chunkings } from '../../helpers/redis-feed.js';
import { redisFakeContext, type RecordedEvent } from '../../helpers/redis-fake-context.js';
import * as R from '../../helpers/redis-resp.js';

function get(record: RecordedEvent | undefined, path: string): unknown {
  let value: unknown = record;
  for (const key of path.split('.')) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<string, unknown>)[key];
  }
  return value;
}

const denyDangerous = (action: ActionFacts): Decision =>
  action.protocol === 'redis' && action.categories.includes('dangerous')
    ? { verdict: 'deny', ruleId: 'no-dangerous', reason: 'rule no-dangerous' }
    : { verdict: 'allow', reason: 'allowed' };

function start(decide = denyDangerous) {
  const ctx = redisFakeContext({ decide });
  return { ctx, session: createRedisSession(ctx) };
}

const NOPERM =
  "-NOPERM this user has no permissions to run the 'flushall' command (portwarden policy, rule no-dangerous)\r\n";
const EXECABORT = '-EXECABORT Transaction discarded because of previous errors.\r\n';

describe('Redis session — a denial inside MULTI', () => {
  const commands = R.join(
    R.command('MULTI'),
    R.command('INCR', 'a'),
    R.command('FLUSHALL'),
    R.command('INCR', 'b'),
    R.command('EXEC'),
    R.command('GET', 'a'),
  );
  // What Redis answers to what reaches it: MULTI, INCR a, INCR b, DISCARD, GET a.
  const replies = R.join(
    R.simple('OK'),
    R.simple('QUEUED'),
    R.simple('QUEUED'),
    R.simple('OK'),
    R.nullBulk(),
  );

  it('sends DISCARD for the EXEC and answers -EXECABORT, however both streams are cut', () => {
    const cuts = chunkings(commands);
    const replyCuts = chunkings(replies);
    for (let i = 0; i < Math.max(cuts.length, replyCuts.length); i++) {
      const { ctx, session } = start();
      for (const c of cuts[i % cuts.length]?.chunks ?? []) session.onClientData(c);
      for (const c of replyCuts[i % replyCuts.length]?.chunks ?? []) session.onServerData(c);
      expect(ctx.upstreamText()).toBe(
        R.join(
          R.command('MULTI'),
          R.command('INCR', 'a'),
          R.command('INCR', 'b'),
          R.command('DISCARD'),
          R.command('GET', 'a'),
        ).toString('latin1'),
      );
      expect(ctx.clientText()).toBe(`+OK\r\n+QUEUED\r\n${NOPERM}+QUEUED\r\n${EXECABORT}$-1\r\n`);
    }
  });

  it('records the EXEC reply as EXECABORT with the denied command as reason', () => {
    const { ctx, session } = start();
    session.onClientData(commands);
    session.onServerData(replies);
    const cmds = ctx.actions('redis-command');
    expect(cmds.map((c) => get(c, 'redis.command'))).toEqual([
      'multi',
      'incr',
      'flushall',
      'incr',
      'exec',
      'get',
    ]);
    const out = ctx.actions('redis-reply');
    expect(out.map((r) => get(r, 'event.reference'))).toEqual(cmds.map((c) => c.id));
    const exec = out[4];
    expect(get(exec, 'event.outcome')).toBe('failure');
    expect(get(exec, 'redis.reply.error')).toEqual({
      code: 'EXECABORT',
      message: 'EXECABORT Transaction discarded because of previous errors.',
    });
    expect(get(exec, 'event.reason')).toBe(
      "transaction discarded: 'flushall' was denied inside MULTI (rule no-dangerous)",
    );
    expect(get(out[5], 'event.outcome')).toBe('success');
  });

  it('a later transaction runs normally; DISCARD after a denial is forwarded as is', () => {
    const { ctx, session } = start();
    session.onClientData(
      R.join(
        R.command('MULTI'),
        R.command('FLUSHALL'),
        R.command('DISCARD'),
        R.command('MULTI'),
        R.command('INCR', 'a'),
        R.command('EXEC'),
      ),
    );
    expect(ctx.upstreamText()).toBe(
      R.join(
        R.command('MULTI'),
        R.command('DISCARD'),
        R.command('MULTI'),
        R.command('INCR', 'a'),
        R.command('EXEC'),
      ).toString('latin1'),
    );
    session.onServerData(
      R.join(
        R.simple('OK'),
        R.simple('OK'),
        R.simple('OK'),
        R.simple('QUEUED'),
        R.array(R.integer(1)),
      ),
    );
    expect(ctx.clientText()).toBe(`+OK\r\n${NOPERM}+OK\r\n+OK\r\n+QUEUED\r\n*1\r\n:1\r\n`);
  });

  it('RESP3: a push arriving before the DISCARD reply reaches the client; the +OK does not', () => {
    const { ctx, session } = start();
    session.onClientData(R.command('HELLO', '3'));
    session.onServerData(R.map([R.bulk('proto'), R.integer(3)]));
    session.onClientData(R.join(R.command('MULTI'), R.command('FLUSHALL'), R.command('EXEC')));
    const push = R.push(R.bulk('invalidate'), R.array(R.bulk('k')));
    const rest = R.join(R.simple('OK'), push, R.simple('OK'));
    for (const { name, chunks } of chunkings(rest)) {
      const run = start();
      run.session.onClientData(R.command('HELLO', '3'));
      run.session.onServerData(R.map([R.bulk('proto'), R.integer(3)]));
      run.session.onClientData(
        R.join(R.command('MULTI'), R.command('FLUSHALL'), R.command('EXEC')),
      );
      for (const c of chunks) run.session.onServerData(c);
      expect(run.ctx.clientText(), name).toBe(
        `%1\r\n$5\r\nproto\r\n:3\r\n+OK\r\n${NOPERM}${push.toString('latin1')}${EXECABORT}`,
      );
    }
    expect(ctx.upstreamText()).not.toContain('EXEC');
  });

  it('hands every key to policy: a denied key at position 20 is denied', () => {
    const keys = Array.from({ length: 20 }, (_, i) => (i === 19 ? 'secret:x' : `k${i + 1}`));
    const { ctx, session } = start((action) =>
      action.protocol === 'redis' && action.keys?.some((k) => k.startsWith('secret:')) === true
        ? { verdict: 'deny', ruleId: 'no-secrets', reason: 'rule no-secrets' }
        : { verdict: 'allow', reason: 'allowed' },
    );
    session.onClientData(R.command('DEL', ...keys));
    expect(ctx.upstream).toHaveLength(0);
    const [cmd] = ctx.actions('redis-command');
    expect(get(cmd, 'redis.keys')).toEqual(keys);
    expect(get(cmd, 'redis.keys_count')).toBe(20);
    expect(get(cmd, 'event.type')).toEqual(['access', 'denied']);
  });
});
