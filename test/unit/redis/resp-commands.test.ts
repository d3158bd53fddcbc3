import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { RespParser, type RespParserOptions } from '../../../src/protocols/redis/index.js';
import { chunkings, feed, type Seen } from '../../helpers/redis-feed.js';
import * as R from '../../helpers/redis-resp.js';

const COMMAND: RespParserOptions = { mode: 'command', maxBulkBytes: 1024 * 1024, captureArgs: 3 };

const head = (args: string[], argc: number, at: number, inline = false): Seen => ({
  kind: 'head',
  argc,
  args,
  inline,
  at,
});
const end = (at: number): Seen => ({ kind: 'end', at });

function expectEvents(stream: Buffer, expected: Seen[], options = COMMAND): void {
  for (const { name, chunks } of chunkings(stream)) {
    expect(feed(options, chunks), name).toEqual(expected);
  }
}

function expectError(stream: Buffer, message: RegExp, options = COMMAND): void {
  for (const { name, chunks } of chunkings(stream)) {
    expect(() => feed(options, chunks), name).toThrow(ProtocolError);
    expect(() => feed(options, chunks), name).toThrow(message);
  }
}

describe('RESP command parser (spec: Sending commands to a Redis server)', () => {
  it('reports a short command as head then end', () => {
    const stream = R.command('GET', 'user:1');
    expectEvents(stream, [head(['GET', 'user:1'], 2, stream.length), end(stream.length)]);
  });

  it('reports the head after captureArgs arguments and streams the rest uncopied', () => {
    const first = R.join(Buffer.from('*5\r\n'), R.bulk('MSET'), R.bulk('k1'), R.bulk('v1'));
    const stream = R.join(first, R.bulk('k2'), R.bulk('x'.repeat(500)));
    expectEvents(stream, [head(['MSET', 'k1', 'v1'], 5, first.length), end(stream.length)]);
  });

  it('keeps at most captureBytes of a captured argument', () => {
    const stream = R.command('SET', 'k'.repeat(40), 'v');
    expectEvents(
      stream,
      [head(['SET', 'k'.repeat(16), 'v'], 3, stream.length), end(stream.length)],
      { ...COMMAND, captureBytes: 16 },
    );
  });

  it('reads pipelined commands and skips *0 and *-1 as Redis does', () => {
    const a = R.command('PING');
    const b = R.command('INCR', 'n');
    const stream = R.join(a, Buffer.from('*0\r\n*-1\r\n'), b);
    const bEnd = stream.length;
    expectEvents(stream, [
      head(['PING'], 1, a.length),
      end(a.length),
      head(['INCR', 'n'], 2, bEnd),
      end(bEnd),
    ]);
  });

  it('reads inline commands with quotes, and ignores empty lines', () => {
    const stream = R.join(
      R.inline("set \"a b\" 'c\\'d'"),
      Buffer.from('\r\n\n'),
      Buffer.from('PING\n'),
    );
    const first = R.inline("set \"a b\" 'c\\'d'").length;
    expectEvents(stream, [
      head(['set', 'a b', "c'd"], 3, first, true),
      end(first),
      head(['PING'], 1, stream.length, true),
      end(stream.length),
    ]);
  });

  it('reports the head early once headBytes were read, then the end', () => {
    const stream = R.command('SET', 'key', 'v'.repeat(100));
    const seen = feed({ ...COMMAND, captureArgs: 8, headBytes: 40 }, [stream]);
    // Whole, the command completes in the chunk: nothing is held, so the head is complete.
    expect(seen).toEqual([
      head(['SET', 'key', 'v'.repeat(100)], 3, stream.length),
      end(stream.length),
    ]);
    // Chunked, the head goes out as soon as the limit is passed, before the command ends.
    const chunked = feed({ ...COMMAND, captureArgs: 8, headBytes: 40 }, [
      stream.subarray(0, 50),
      stream.subarray(50),
    ]);
    expect(chunked).toEqual([head(['SET', 'key'], 3, 50), end(stream.length)]);
  });

  it('refuses what Redis refuses', () => {
    expectError(Buffer.from('*1\r\n:1\r\n'), /expected '\$', got ':'/);
    expectError(Buffer.from('*1\r\n$-1\r\n'), /invalid bulk length/);
    expectError(Buffer.from('*x\r\n'), /invalid multibulk length/);
    expectError(Buffer.from('set "a\r\n'), /unbalanced quotes/);
    expectError(Buffer.from('*1\r\n$2000000\r\n'), /invalid bulk length/);
    expectError(Buffer.from('*11\r\n'), /invalid multibulk length/, {
      ...COMMAND,
      maxElements: 10,
    });
  });

  it('bounds an inline line and a count line while incomplete', () => {
    expectError(Buffer.from('a'.repeat(300)), /too big inline request/, {
      ...COMMAND,
      maxLineBytes: 256,
    });
    expectError(Buffer.from('*' + '1'.repeat(30)), /too big mbulk count string/);
    expectError(Buffer.from('*1\r\n$' + '1'.repeat(30)), /too big bulk count string/);
  });
});

describe('RESP command parser — properties', () => {
  const arg = fc.uint8Array({ maxLength: 30 }).map((b) => Buffer.from(b));
  const cmd = fc.array(arg, { minLength: 1, maxLength: 6 });

  it('gives the same commands however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(cmd, { minLength: 1, maxLength: 5 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (cmds, cuts) => {
          const stream = Buffer.concat(cmds.map((args) => R.command(...args)));
          const offsets = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort(
            (a, b) => a - b,
          );
          const chunks: Buffer[] = [];
          let last = 0;
          for (const o of offsets) {
            chunks.push(stream.subarray(last, o));
            last = o;
          }
          chunks.push(stream.subarray(last));
          const whole = feed(COMMAND, [stream]);
          expect(whole.filter((s) => s.kind === 'end')).toHaveLength(cmds.length);
          const heads = whole.filter((s) => s.kind === 'head');
          expect(heads.map((h) => h.args)).toEqual(
            cmds.map((args) => args.slice(0, 3).map((a) => a.toString('latin1'))),
          );
          expect(feed(COMMAND, chunks)).toEqual(whole);
        },
      ),
    );
  });

  it('random bytes only ever raise ProtocolError, holding at most a line and one capture', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
        const parser = new RespParser(
          { ...COMMAND, maxLineBytes: 256, captureBytes: 64 },
          { commandHead: () => {}, commandEnd: () => {}, reply: () => {} },
        );
        try {
          for (const c of chunks) parser.push(Buffer.from(c));
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
        expect(parser.heldBytes).toBeLessThanOrEqual(256 + 64);
      }),
    );
  });
});
