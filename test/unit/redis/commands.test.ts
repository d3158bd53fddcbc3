import { describe, expect, it } from 'vitest';
import { REDIS_COMMANDS, resolveCommand } from '../../../src/protocols/redis/index.js';
import { commandKeys } from '../../../src/protocols/redis/commands.js';
import { splitInline } from '../../../src/protocols/redis/inline.js';

const argv = (...words: string[]): Buffer[] => words.map((w) => Buffer.from(w));
const resolve = (...words: string[]) => resolveCommand(argv(...words), words.length);
const keysOf = (...words: string[]): string[] =>
  commandKeys(resolve(...words), argv(...words), words.length).keys.map(String);

describe('command table (generated from COMMAND on Redis 7)', () => {
  it('holds commands and subcommands with arity, flags, first key, categories, key specs', () => {
    expect(REDIS_COMMANDS.get('get')).toMatchObject({
      arity: 2,
      firstKey: 1,
      categories: ['read', 'string', 'fast'],
      keySpecs: [
        {
          begin: { kind: 'index', index: 1 },
          find: { kind: 'range', lastKey: 0, step: 1, limit: 0 },
          incomplete: false,
          notKey: false,
        },
      ],
    });
    expect(REDIS_COMMANDS.get('config|set')?.categories).toContain('dangerous');
    expect(REDIS_COMMANDS.get('client|kill')?.categories).toContain('admin');
    expect(REDIS_COMMANDS.size).toBeGreaterThan(300);
  });
});

describe('resolveCommand', () => {
  it('lower-cases the name and finds its keys', () => {
    expect(resolve('GET', 'user:1')).toMatchObject({ name: 'get' });
    expect(keysOf('GET', 'user:1')).toEqual(['user:1']);
    expect(keysOf('PING')).toEqual([]);
  });

  it('adds the subcommand of container commands', () => {
    expect(resolve('CONFIG', 'SET', 'maxmemory', '1')).toMatchObject({ name: 'config|set' });
    expect(resolve('object', 'ENCODING', 'k')).toMatchObject({ name: 'object|encoding' });
    expect(keysOf('object', 'ENCODING', 'k')).toEqual(['k']);
  });

  it('treats unknown commands and unknown subcommands as unknown (most privileged)', () => {
    expect(resolve('FLUSHEVERYTHING')).toMatchObject({
      name: 'flusheverything',
      categories: ['unknown'],
    });
    expect(resolve('CONFIG', 'BOGUS')).toMatchObject({
      name: 'config|bogus',
      categories: ['unknown'],
    });
  });

  it('follows key specs of movable-keys commands', () => {
    expect(keysOf('EVAL', 'return 1', '1', 'k')).toEqual(['k']);
    expect(keysOf('EVAL', 'return 1', '0')).toEqual([]);
    expect(keysOf('XREAD', 'COUNT', '2', 'STREAMS', 's1', '0')).toEqual(['s1']);
    expect(keysOf('ZUNION', '2', 'a', 'b')).toEqual(['a', 'b']);
    expect(keysOf('ZUNIONSTORE', 'dst', '1', 'a')).toEqual(['dst', 'a']);
  });
});

describe('splitInline (mirrors sds.c sdssplitargs)', () => {
  const split = (s: string) => splitInline(Buffer.from(s))?.map((b) => b.toString('latin1'));
  it('splits on blanks and honours both quote kinds and escapes', () => {
    expect(split('  set  k v ')).toEqual(['set', 'k', 'v']);
    expect(split("set \"a\\x41\\n\" 'it\\'s'")).toEqual(['set', 'aA\n', "it's"]);
    expect(split('')).toEqual([]);
  });
  it('refuses unbalanced quotes and a closing quote followed by a non-blank', () => {
    expect(split('set "abc')).toBeUndefined();
    expect(split("set 'abc")).toBeUndefined();
    expect(split('set "a"b')).toBeUndefined();
  });
  it('stops at a NUL byte like the C string it works on', () => {
    expect(splitInline(Buffer.from('get a\0b c'))?.map(String)).toEqual(['get', 'a']);
  });
});
