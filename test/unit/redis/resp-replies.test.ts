import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { RespParser, type RespParserOptions } from '../../../src/protocols/redis/index.js';
import { chunkings, feed, type Seen } from '../../helpers/redis-feed.js';
import * as R from '../../helpers/redis-resp.js';

const REPLY: RespParserOptions = { mode: 'reply', maxBulkBytes: 1024 * 1024 };

function reply(
  type: string,
  at: number | undefined,
  extra: { text?: string; count?: number; head?: string[] } = {},
): Seen {
  return {
    kind: 'reply',
    type,
    text: extra.text,
    count: extra.count ?? 0,
    head: extra.head ?? [],
    at: at ?? -1,
  };
}

/** Where each part ends in the joined stream. */
function ends(parts: readonly Buffer[]): number[] {
  let at = 0;
  return parts.map((p) => (at += p.length));
}

/** Every chunking of the stream gives exactly the expected replies. */
function expectReplies(stream: Buffer, expected: Seen[], options = REPLY): void {
  for (const { name, chunks } of chunkings(stream)) {
    expect(feed(options, chunks), name).toEqual(expected);
  }
}

function expectError(stream: Buffer, message: RegExp, options = REPLY, resp3 = true): void {
  for (const { name, chunks } of chunkings(stream)) {
    let caught: unknown;
    try {
      feed(options, chunks, resp3);
    } catch (err) {
      caught = err;
    }
    expect(caught, name).toBeInstanceOf(ProtocolError);
    expect((caught as ProtocolError).detail, name).toMatch(message);
  }
}

describe('RESP reply parser — RESP2 types (spec: RESP protocol description)', () => {
  it('reads simple strings, errors and integers with their text', () => {
    const parts = [R.simple('OK'), R.error('WRONGTYPE Operation against a key'), R.integer(-42)];
    const [a, b, c] = ends(parts);
    expectReplies(R.join(...parts), [
      reply('simple', a, { text: 'OK' }),
      reply('error', b, { text: 'WRONGTYPE Operation against a key' }),
      reply('integer', c, { text: '-42' }),
    ]);
  });

  it('reads bulk strings without keeping their body, and the RESP2 nulls', () => {
    const stream = R.join(R.bulk('hello'), R.bulk(''), R.nullBulk(), R.nullArray());
    expectReplies(stream, [
      reply('bulk', 11),
      reply('bulk', 17),
      reply('null', 22),
      reply('null', 27),
    ]);
  });

  it('reads nested arrays as one reply with count and leading scalar elements', () => {
    const stream = R.array(
      R.bulk('message'),
      R.bulk('news'),
      R.array(R.integer(1), R.array(R.bulk('deep'))),
      R.integer(7),
    );
    expectReplies(stream, [reply('array', stream.length, { count: 4, head: ['message', 'news'] })]);
  });

  it('keeps only 3 leading elements, each cut to 64 bytes', () => {
    const long = 'x'.repeat(100);
    const stream = R.array(R.bulk(long), R.simple('b'), R.integer(3), R.bulk('d'));
    expectReplies(stream, [
      reply('array', stream.length, { count: 4, head: ['x'.repeat(64), 'b', '3'] }),
    ]);
  });

  it('reads an empty array and a pipelined series', () => {
    const stream = R.join(R.array(), R.simple('QUEUED'), R.array(R.simple('OK'), R.integer(1)));
    expectReplies(stream, [
      reply('array', 4),
      reply('simple', 13, { text: 'QUEUED' }),
      reply('array', stream.length, { count: 2, head: ['OK', '1'] }),
    ]);
  });
});

describe('RESP reply parser — RESP3 types', () => {
  it('reads every RESP3 scalar', () => {
    const parts = [
      R.null3(),
      R.boolean(true),
      R.double('3.14'),
      R.double('-inf'),
      R.bigNumber('3492890328409238509324850943850943825024385'),
      R.bulkError('SYNTAX invalid syntax'),
      R.verbatim('txt', 'Some string'),
    ];
    const [a, b, c, d, e, f, g] = ends(parts);
    expectReplies(R.join(...parts), [
      reply('null', a),
      reply('boolean', b, { text: 't' }),
      reply('double', c, { text: '3.14' }),
      reply('double', d, { text: '-inf' }),
      reply('big-number', e, { text: '3492890328409238509324850943850943825024385' }),
      reply('bulk-error', f, { text: 'SYNTAX invalid syntax' }),
      reply('verbatim', g),
    ]);
  });

  it('reads maps (count in pairs), sets and pushes', () => {
    const m = R.map([R.bulk('server'), R.bulk('redis')], [R.bulk('proto'), R.integer(3)]);
    const s = R.set(R.bulk('a'), R.bulk('b'));
    const p = R.push(R.bulk('message'), R.bulk('ch'), R.bulk('hi'));
    const stream = R.join(m, s, p);
    expectReplies(stream, [
      reply('map', m.length, { count: 2, head: ['server', 'redis', 'proto'] }),
      reply('set', m.length + s.length, { count: 2, head: ['a', 'b'] }),
      reply('push', stream.length, { count: 3, head: ['message', 'ch', 'hi'] }),
    ]);
  });

  it('folds an attribute into the reply it annotates, at top level and nested', () => {
    const top = R.join(R.attribute([R.bulk('ttl'), R.integer(3600)]), R.integer(42));
    // An attribute is not an element: the array below has 2 (RESP3 spec, Attribute type).
    const nested = R.join(
      Buffer.from('*2\r\n'),
      R.integer(1),
      R.attribute([R.bulk('k'), R.bulk('v')]),
      R.integer(2),
    );
    const stream = R.join(top, nested);
    expectReplies(stream, [
      reply('integer', top.length, { text: '42' }),
      reply('array', stream.length, { count: 2, head: ['1'] }),
    ]);
  });

  it('refuses RESP3 types before HELLO 3', () => {
    expectError(R.null3(), /RESP3 type '_' before HELLO 3/, REPLY, false);
    expectError(R.map(), /RESP3 type '%' before HELLO 3/, REPLY, false);
  });
});

describe('RESP reply parser — hostile input', () => {
  it('checks a bulk length against the maximum before reading the body', () => {
    expectError(Buffer.from('$1025\r\n'), /invalid bulk length/, {
      mode: 'reply',
      maxBulkBytes: 1024,
    });
  });

  it('refuses malformed lengths and counts', () => {
    for (const bad of ['$-2\r\n', '$01\r\n', '$+1\r\n', '$\r\n', '*-2\r\n', '%-1\r\n', '$1x\r\n']) {
      expectError(Buffer.from(bad), /invalid/);
    }
  });

  it('refuses element counts above the maximum', () => {
    expectError(Buffer.from('*11\r\n'), /invalid aggregate length/, { ...REPLY, maxElements: 10 });
  });

  it('bounds nesting depth', () => {
    const deep = Buffer.from('*1\r\n'.repeat(5) + ':1\r\n');
    expectError(deep, /nested deeper than 4/, { ...REPLY, maxDepth: 4 });
    expect(feed({ ...REPLY, maxDepth: 5 }, [deep])).toHaveLength(1);
  });

  it('requires CRLF after a bulk body and at the end of lines', () => {
    expectError(Buffer.from('$2\r\nabXY'), /expected CRLF after bulk string/);
    expectError(Buffer.from('+OK\n'), /expected CRLF line ending/);
  });

  it('refuses an unknown type byte and an over-long header line', () => {
    expectError(Buffer.from('?x\r\n'), /unknown reply type '\?'/);
    expectError(Buffer.from('$' + '1'.repeat(40)), /longer than allowed/);
  });

  it('bounds a simple line while it is incomplete', () => {
    expectError(Buffer.from('+' + 'a'.repeat(200)), /longer than allowed/, {
      ...REPLY,
      maxLineBytes: 100,
    });
  });

  it('keeps failing after an error', () => {
    const parser = feedParser();
    expect(() => parser.push(Buffer.from('?\r\n'))).toThrow(ProtocolError);
    expect(() => parser.push(R.simple('OK'))).toThrow(ProtocolError);
  });
});

function feedParser(): RespParser {
  return new RespParser(REPLY, { commandHead: () => {}, commandEnd: () => {}, reply: () => {} });
}

describe('RESP reply parser — properties', () => {
  const value: fc.Memo<Buffer> = fc.memo((n) =>
    n <= 1
      ? fc.oneof(
          fc.string({ unit: 'grapheme-ascii' }).map((s) => R.simple(s.replace(/[\r\n]/g, ''))),
          fc.integer().map((i) => R.integer(i)),
          fc.uint8Array({ maxLength: 40 }).map((b) => R.bulk(Buffer.from(b))),
          fc.constant(R.nullBulk()),
          fc.constant(R.null3()),
          fc.boolean().map((b) => R.boolean(b)),
        )
      : fc.oneof(
          value(1),
          fc.array(value(n - 1), { maxLength: 4 }).map((items) => R.array(...items)),
          fc.array(value(n - 1), { maxLength: 4 }).map((items) => R.push(...items)),
          fc
            .array(fc.tuple(value(1), value(n - 1)), { maxLength: 3 })
            .map((pairs) => R.map(...pairs)),
        ),
  );

  it('gives the same replies however the stream is chunked', () => {
    fc.assert(
      fc.property(
        fc.array(value(3), { minLength: 1, maxLength: 6 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (values, cuts) => {
          const stream = Buffer.concat(values);
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
          const whole = feed(REPLY, [stream]);
          expect(whole).toHaveLength(values.length);
          expect(feed(REPLY, chunks)).toEqual(whole);
        },
      ),
    );
  });

  it('random bytes only ever raise ProtocolError, holding at most a line and one capture', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 20 }), (chunks) => {
        const parser = new RespParser(
          { ...REPLY, maxLineBytes: 256, maxBulkBytes: 512 },
          {
            commandHead: () => {},
            commandEnd: () => {},
            reply: () => {},
          },
        );
        parser.resp3 = true;
        try {
          for (const c of chunks) parser.push(Buffer.from(c));
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
        // Held across chunks: a partial line (line limit) and one capture (captureBytes).
        expect(parser.heldBytes).toBeLessThanOrEqual(256 + 1024);
      }),
    );
  });
});
