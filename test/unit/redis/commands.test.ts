import { describe, expect, it } from 'vitest';
import { REDIS_COMMANDS, resolveCommand } from '../../../src/protocols/redis/index.js';
import { headComplete } from '../../../src/protocols/redis/commands.js';
import { splitInline } from '../../../src/protocols/redis/inline.js';

const argv = (...words: string[]): Buffer[] => words.map((w) => Buffer.from(w));
const resolve = (...words: string[]) => resolveCommand(argv(...words), words.length);

describe('command table (generated from COMMAND on Redis 7)', () => {
  it('holds commands and subcommands with arity, flags, first key and categories', () => {
    expect(REDIS_COMMANDS.get('get')).toMatchObject({
      arity: 2,
      firstKey: 1,
      categories: ['read', 'string', 'fast'],
    });
    expect(REDIS_COMMANDS.get('config|set')?.categories).toContain('dangerous');
    expect(REDIS_COMMANDS.get('client|kill')?.categories).toContain('admin');
    expect(REDIS_COMMANDS.size).toBeGreaterThan(300);
  });
});

describe('resolveCommand', () => {
  it('lower-cases the name and finds the first key', () => {
    expect(resolve('GET', 'user:1')).toMatchObject({ name: 'get', firstKeyIndex: 1 });
    expect(resolve('PING')).toMatchObject({ name: 'ping', firstKeyIndex: -1 });
  });

  it('adds the subcommand of container commands', () => {
    expect(resolve('CONFIG', 'SET', 'maxmemory', '1')).toMatchObject({ name: 'config|set' });
    expect(resolve('object', 'ENCODING', 'k')).toMatchObject({
      name: 'object|encoding',
      firstKeyIndex: 2,
    });
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
    expect(resolve('EVAL', 'return 1', '1', 'k')).toMatchObject({ firstKeyIndex: 3 });
    expect(resolve('EVAL', 'return 1', '0')).toMatchObject({ firstKeyIndex: -1 });
    expect(resolve('XREAD', 'COUNT', '2', 'STREAMS', 's1', '0')).toMatchObject({
      firstKeyIndex: 4,
    });
    expect(resolve('ZUNION', '2', 'a', 'b')).toMatchObject({ firstKeyIndex: 2 });
    expect(resolve('ZUNIONSTORE', 'dst', '1', 'a')).toMatchObject({ firstKeyIndex: 1 });
  });
});

describe('headComplete', () => {
  const ready = (argc: number, ...words: string[]) => headComplete(argv(...words), argc, 8);
  it('is ready once name and first key are read, before the values', () => {
    expect(ready(3, 'SET')).toBe(false);
    expect(ready(3, 'SET', 'k')).toBe(true);
    expect(ready(4, 'EVAL', 'return 1', '1')).toBe(false);
    expect(ready(4, 'EVAL', 'return 1', '1', 'k')).toBe(true);
    expect(ready(3, 'PING')).toBe(true);
    expect(ready(3, 'NOSUCH')).toBe(true);
  });
  it('waits for a container subcommand, keyword keys and arguments that change state', () => {
    expect(ready(4, 'CONFIG')).toBe(false);
    expect(ready(6, 'XREAD', 'COUNT', '1', 'STREAMS')).toBe(false);
    expect(ready(3, 'CLIENT', 'REPLY')).toBe(false);
    expect(ready(3, 'AUTH', 'bob')).toBe(true);
    expect(ready(6, 'HELLO', '3', 'AUTH')).toBe(false);
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
