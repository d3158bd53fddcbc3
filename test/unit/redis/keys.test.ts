/**
 * Every key of a command from the table's key specs (keys.ts), and the head plan that copies
 * only name, keys and state arguments while a command streams in (head-plan.ts): the keys
 * found at every split equal the keys of the whole command, values are never copied, and the
 * head goes out once the last key is read.
 */
import { describe, expect, it } from 'vitest';
import { commandKeys, resolveCommand } from '../../../src/protocols/redis/commands.js';
import { HeadPlan } from '../../../src/protocols/redis/head-plan.js';
import { MAX_KEYS } from '../../../src/protocols/redis/keys.js';
import { RespParser, type CommandHead } from '../../../src/protocols/redis/index.js';
import * as R from '../../helpers/redis-resp.js';

const argv = (words: readonly string[]): Buffer[] => words.map((w) => Buffer.from(w));

function keysOf(words: readonly string[], keyBytes = 1024) {
  const args = argv(words);
  const found = commandKeys(resolveCommand(args, args.length), args, args.length, keyBytes);
  return { keys: found.keys.map(String), count: found.count, complete: found.complete };
}

const range = (n: number, prefix: string): string[] =>
  Array.from({ length: n }, (_, i) => `${prefix}${i + 1}`);

describe('commandKeys (Redis getKeysUsingKeySpecs)', () => {
  it.each<[string, string[], string[]]>([
    ['plain range', ['DEL', ...range(20, 'k')], range(20, 'k')],
    ['every second argument', ['MSET', 'a', '1', 'b', '2', 'c', '3'], ['a', 'b', 'c']],
    ['all but the last', ['BLPOP', 'a', 'b', 'c', '0'], ['a', 'b', 'c']],
    ['two specs', ['RENAME', 'from', 'to'], ['from', 'to']],
    ['dest then sources', ['BITOP', 'AND', 'dst', 's1', 's2'], ['dst', 's1', 's2']],
    ['numkeys', ['EVAL', 'return 1', '3', 'a', 'b', 'c', 'argv1'], ['a', 'b', 'c']],
    ['numkeys 0', ['EVALSHA', 'abc', '0', 'argv1'], []],
    [
      'store key then numkeys',
      ['ZUNIONSTORE', 'dst', '3', 'a', 'b', 'c', 'WEIGHTS', '1', '2', '3'],
      ['dst', 'a', 'b', 'c'],
    ],
    ['numkeys after an index', ['BLMPOP', '0', '2', 'l1', 'l2', 'LEFT'], ['l1', 'l2']],
    [
      'keyword, half of the rest',
      ['XREAD', 'COUNT', '2', 'STREAMS', 's1', 's2', 's3', '0', '0', '0'],
      ['s1', 's2', 's3'],
    ],
    [
      'keyword after a fixed start',
      ['XREADGROUP', 'GROUP', 'g', 'c', 'streams', 'a', 'b', '>', '>'],
      ['a', 'b'],
    ],
    [
      'optional keyword key',
      ['GEORADIUS', 'geo', '15', '37', '200', 'km', 'ASC', 'STORE', 'dst'],
      ['geo', 'dst'],
    ],
    ['optional keyword absent', ['GEORADIUS', 'geo', '15', '37', '200', 'km'], ['geo']],
    ['SORT STORE', ['SORT', 'list', 'LIMIT', '0', '5', 'ALPHA', 'STORE', 'dst'], ['list', 'dst']],
    ['MIGRATE one key', ['MIGRATE', 'h', '6379', 'k', '0', '5000'], ['k']],
    [
      'MIGRATE KEYS, past AUTH2',
      ['MIGRATE', 'h', '6379', '', '0', '5000', 'AUTH2', 'u', 'keys', 'KEYS', 'a', 'b'],
      ['a', 'b'],
    ],
    ['container subcommand', ['OBJECT', 'ENCODING', 'k'], ['k']],
    ['shard channels are not keys', ['SPUBLISH', 'chan', 'msg'], []],
    ['no keys', ['PING'], []],
  ])('%s', (_what, words, keys) => {
    expect(keysOf(words)).toEqual({ keys, count: keys.length, complete: true });
  });

  it('keeps MAX_KEYS keys of a longer list, counts all, says it is incomplete', () => {
    const names = range(MAX_KEYS + 44, 'k');
    const found = keysOf(['DEL', ...names]);
    expect(found.keys).toEqual(names.slice(0, MAX_KEYS));
    expect(found.count).toBe(MAX_KEYS + 44);
    expect(found.complete).toBe(false);
  });

  it('is incomplete for keys it cannot name: unknown commands, SORT BY/GET patterns, cut keys', () => {
    expect(keysOf(['NOSUCH', 'a'])).toEqual({ keys: [], count: 0, complete: false });
    expect(keysOf(['SORT', 'l', 'BY', 'w_*']).complete).toBe(false);
    expect(keysOf(['SORT', 'l', 'GET', 'o_*']).complete).toBe(false);
    expect(keysOf(['SORT', 'l', 'BY', 'nosort']).complete).toBe(true);
    expect(keysOf(['GET', 'x'.repeat(16)], 16).complete).toBe(false);
    expect(keysOf(['GET', 'x'.repeat(15)], 16).complete).toBe(true);
  });

  it('skips what Redis skips: a bad count, positions past the arguments', () => {
    expect(keysOf(['EVAL', 's', '-1', 'a'])).toEqual({ keys: [], count: 0, complete: true });
    expect(keysOf(['EVAL', 's', '01', 'a'])).toEqual({ keys: [], count: 0, complete: true });
    expect(keysOf(['EVAL', 's', '5', 'a', 'b']).keys).toEqual(['a', 'b']);
    expect(keysOf(['XREAD', 'COUNT', '1']).keys).toEqual([]);
  });
});

/** Feeds a command to a parser driven by a HeadPlan in the given chunks; returns its head. */
function headOf(command: Buffer, chunks: readonly number[], valueArgs = 0): CommandHead {
  const plan = new HeadPlan(valueArgs, 1024);
  const heads: { head: CommandHead; at: number; chunk: number }[] = [];
  let chunkNo = 0;
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
      commandHead: (head, at) => heads.push({ head, at, chunk: chunkNo }),
      commandEnd: () => undefined,
      reply: () => undefined,
    },
  );
  let from = 0;
  for (const to of [...chunks, command.length]) {
    if (to <= from) continue;
    parser.push(command.subarray(from, to));
    from = to;
    chunkNo++;
  }
  expect(heads).toHaveLength(1);
  const only = heads[0];
  if (only === undefined) throw new Error('no head');
  return only.head;
}

describe('HeadPlan: copy keys, not values; decide after the last key', () => {
  const big = 'v'.repeat(5000);
  const cases: [string, string[], string[]][] = [
    ['MSET', ['MSET', 'a', big, 'b', big, 'c', big], ['a', 'b', 'c']],
    ['DEL', ['DEL', ...range(30, 'k')], range(30, 'k')],
    ['EVAL', ['EVAL', big, '2', 'x', 'y', big], ['x', 'y']],
    ['XREAD', ['XREAD', 'BLOCK', '0', 'STREAMS', 's1', 's2', '$', '$'], ['s1', 's2']],
    ['MIGRATE', ['MIGRATE', 'h', '1', '', '0', '9', 'AUTH', 'keys', 'KEYS', 'a'], ['a']],
    ['CONFIG SET', ['CONFIG', 'SET', 'maxmemory', '10mb'], []],
    ['SORT', ['SORT', 'list', 'LIMIT', '0', '1', 'STORE', 'dst'], ['list', 'dst']],
  ];

  it.each(cases)(
    '%s: whole and at every split, the same keys; values not copied',
    (_n, words, keys) => {
      const bytes = R.command(...words);
      const whole = commandKeys(
        resolveCommand(argv(words), words.length),
        headOf(bytes, []).args,
        words.length,
        1024,
      );
      expect(whole.keys.map(String)).toEqual(keys);
      expect(whole.complete).toBe(true);
      const step = Math.max(1, Math.floor(bytes.length / 400));
      for (let cut = 1; cut < bytes.length; cut += step) {
        const head = headOf(bytes, [cut]);
        const found = commandKeys(resolveCommand(head.args, head.argc), head.args, head.argc, 1024);
        expect(found.keys.map(String)).toEqual(keys);
        // The 5000-byte values are never copied.
        expect(head.args.every((a) => a.length < 5000)).toBe(true);
      }
    },
  );

  it('goes out after the last key, before the trailing value', () => {
    const bytes = R.command('MSET', 'a', '1', 'b', big);
    const head = headOf(bytes, []);
    expect(head.args.map(String)).toEqual(['MSET', 'a', '', 'b']);
  });

  it('copies the leading values too when the listener records values', () => {
    const head = headOf(R.command('SET', 'k', 'v1', 'EX', '10'), [], 65);
    expect(head.args.map(String)).toEqual(['SET', 'k', 'v1', 'EX', '10']);
  });
});
