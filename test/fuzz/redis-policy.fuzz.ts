/**
 * The Redis session's policy paths under hostile input: a session whose policy denies
 * dangerous commands and keys (MULTI with a denial, EXEC turned into DISCARD, keys at any
 * position) never throws on mutated, randomly chunked streams; and the keys the head plan
 * copies while a command streams in, cut anywhere, are exactly the keys of the whole command.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ActionFacts, Decision } from '../../src/policy/action.js';
import { commandKeys, resolveCommand } from '../../src/protocols/redis/commands.js';
import { HeadPlan } from '../../src/protocols/redis/head-plan.js';
import {
  createRedisSession,
  RespParser,
  type CommandHead,
} from '../../src/protocols/redis/index.js';
import { fakeSessionContext } from '../helpers/fake-session-context.js';
import * as resp from '../helpers/redis-resp.js';
import { chunk, fuzzOptions, splits, streamFrom } from './harness.js';

const decide = (action: ActionFacts): Decision =>
  action.protocol === 'redis' &&
  (action.categories.includes('dangerous') ||
    action.keysComplete === false ||
    action.keys?.some((k) => k.startsWith('secret')) === true)
    ? { verdict: 'deny', ruleId: 'fuzz', reason: 'rule fuzz' }
    : { verdict: 'allow', reason: 'allowed' };

describe('redis session with a denying policy', () => {
  it('MULTI with denials, keys anywhere: mutated streams, random chunking, no throw', () => {
    const client = [
      resp.command('HELLO', '3'),
      resp.command('MULTI'),
      resp.command('SET', 'a', 'v'),
      resp.command('FLUSHALL'),
      resp.command('DEL', 'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'secret:j'),
      resp.command('EXEC'),
      resp.command('MSET', 'a', '1', 'secret', '2'),
      resp.command('EVAL', 'return 1', '2', 'k', 'secret:x', 'arg'),
      resp.command('XREAD', 'STREAMS', 's1', 's2', '0', '0'),
      resp.command('SORT', 'l', 'BY', 'w_*', 'STORE', 'd'),
      resp.command('DISCARD'),
      resp.inline('MULTI'),
      resp.inline('EXEC'),
    ];
    const server = [
      resp.simple('OK'),
      resp.simple('QUEUED'),
      resp.map([resp.bulk('proto'), resp.integer(3)]),
      resp.array(resp.simple('OK'), resp.integer(1)),
      resp.push(resp.bulk('invalidate'), resp.array(resp.bulk('a'))),
      resp.error('ERR EXEC without MULTI'),
      resp.nullBulk(),
    ];
    fc.assert(
      fc.property(streamFrom(client), splits, streamFrom(server), splits, (c, cs, s, ss) => {
        const ctx = fakeSessionContext({ maxMessageBytes: 64 * 1024, listener: 'cache', decide });
        const session = createRedisSession(ctx);
        const cc = chunk(c, cs);
        const sc = chunk(s, ss);
        for (let i = 0; i < Math.max(cc.length, sc.length); i++) {
          const a = cc[i];
          if (a) session.onClientData(a);
          const b = sc[i];
          if (b) session.onServerData(b);
        }
        session.onClose?.();
      }),
      fuzzOptions(),
    );
  }, 600_000);
});

const NAMES = [
  'DEL',
  'MSET',
  'MGET',
  'EVAL',
  'FCALL',
  'XREAD',
  'XREADGROUP',
  'ZUNIONSTORE',
  'BLMPOP',
  'GEORADIUS',
  'SORT',
  'MIGRATE',
  'BITOP',
  'OBJECT',
  'SPUBLISH',
  'NOSUCH',
];
const WORDS = ['STREAMS', 'STORE', 'KEYS', 'AUTH', 'AUTH2', 'LIMIT', 'BY', 'GET', 'ENCODING'];
const arg = fc.oneof(
  fc.constantFrom(...WORDS),
  fc.constantFrom('0', '1', '2', '3', '-1', '01', '40', ''),
  fc.string({ maxLength: 12 }),
);

/** The keys found when the command streams in through a parser driven by a HeadPlan. */
function streamedKeys(bytes: Buffer, cuts: readonly number[]) {
  const plan = new HeadPlan(0, 1024);
  let head: CommandHead | undefined;
  const parser = new RespParser(
    {
      mode: 'command',
      maxBulkBytes: 1 << 20,
      captureArgs: 1024,
      captureBytes: 1024,
      captureArg: (i, args, argc) => plan.wants(i, args, argc),
      headReady: (args, argc) => plan.ready(args, argc),
    },
    {
      commandHead: (h) => (head = h),
      commandEnd: () => undefined,
      reply: () => undefined,
    },
  );
  for (const piece of chunk(bytes, cuts)) parser.push(piece);
  if (head === undefined) throw new Error('no head');
  return commandKeys(resolveCommand(head.args, head.argc), head.args, head.argc, 1024);
}

describe('redis keys while streaming', () => {
  it('the keys read before deciding are the keys of the whole command, however it is cut', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...NAMES),
        fc.array(arg, { maxLength: 40 }),
        splits,
        (name, rest, cuts) => {
          const words = [name, ...rest];
          const args = words.map((w) => Buffer.from(w));
          const whole = commandKeys(resolveCommand(args, args.length), args, args.length, 1024);
          const streamed = streamedKeys(resp.command(...words), cuts);
          expect(streamed.keys.map(String)).toEqual(whole.keys.map(String));
          expect(streamed.count).toBe(whole.count);
          expect(streamed.complete).toBe(whole.complete);
        },
      ),
      fuzzOptions(),
    );
  }, 600_000);
});
