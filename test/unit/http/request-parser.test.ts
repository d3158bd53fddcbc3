import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import {
  DEFAULT_HTTP_LIMITS,
  HttpProtocolError,
  toRequestHead,
} from '../../../src/protocols/http/index.js';
import { chunkedBody, cut, request, requestWithBody, splits } from '../../helpers/http-builder.js';
import { parseRequests, requestParser } from '../../helpers/http-collect.js';
import type { Seen } from '../../helpers/http-collect.js';

const host: [string, string] = ['Host', 'api.internal'];

interface Case {
  readonly name: string;
  readonly bytes: Buffer;
  readonly expected: readonly Seen[];
}

const cases: Case[] = [
  {
    // RFC 9112 §3: request line and one Host field, no body.
    name: 'simple GET',
    bytes: request('GET', '/orders?id=1', [host]),
    expected: [
      { type: 'head', line: 'GET /orders?id=1', framing: 'none' },
      { type: 'end', payloadBytes: 0 },
    ],
  },
  {
    // RFC 9112 §6.2: Content-Length delimits the body.
    name: 'POST with Content-Length',
    bytes: requestWithBody('POST', '/orders', [host], '{"a":1}'),
    expected: [
      { type: 'head', line: 'POST /orders', framing: 'length' },
      { type: 'body', text: '{"a":1}' },
      { type: 'end', payloadBytes: 7 },
    ],
  },
  {
    // RFC 9112 §7.1: chunk extensions and a trailer section.
    name: 'chunked with extensions and trailers',
    bytes: request(
      'POST',
      '/up',
      [host, ['Transfer-Encoding', 'chunked']],
      chunkedBody(['hello', ' world!'], {
        ext: 'name="v";x',
        trailers: [['Digest', 'sha-256=abc']],
      }),
    ),
    expected: [
      { type: 'head', line: 'POST /up', framing: 'chunked' },
      {
        type: 'body',
        text: '5;name="v";x\r\nhello\r\n7;name="v";x\r\n world!\r\n0;name="v";x\r\nDigest: sha-256=abc\r\n\r\n',
      },
      { type: 'end', payloadBytes: 12 },
    ],
  },
  {
    // RFC 9112 §9.3.2: pipelined requests follow each other on one connection.
    name: 'three pipelined requests',
    bytes: Buffer.concat([
      request('GET', '/a', [host]),
      requestWithBody('PUT', '/b', [host], 'xyz'),
      request(
        'DELETE',
        '/c',
        [host, ['Transfer-Encoding', 'gzip, chunked']],
        chunkedBody(['0123456789abcdef0']),
      ),
    ]),
    expected: [
      { type: 'head', line: 'GET /a', framing: 'none' },
      { type: 'end', payloadBytes: 0 },
      { type: 'head', line: 'PUT /b', framing: 'length' },
      { type: 'body', text: 'xyz' },
      { type: 'end', payloadBytes: 3 },
      { type: 'head', line: 'DELETE /c', framing: 'chunked' },
      { type: 'body', text: '11\r\n0123456789abcdef0\r\n0\r\n\r\n' },
      { type: 'end', payloadBytes: 17 },
    ],
  },
  {
    // RFC 9112 §5: a field with an empty value and OWS around values.
    name: 'empty and padded field values',
    bytes: request('OPTIONS', '*', [host, ['X-Empty', ''], ['X-Pad', ' \t v \t']]),
    expected: [
      { type: 'head', line: 'OPTIONS *', framing: 'none' },
      { type: 'end', payloadBytes: 0 },
    ],
  },
];

describe('RequestParser', () => {
  for (const c of cases) {
    it(`${c.name}: same messages whole, byte by byte and split at every offset`, () => {
      for (const { name, pieces } of splits(c.bytes)) {
        const out = parseRequests(pieces);
        expect(out.seen, name).toEqual(c.expected);
        expect(out.text(), name).toBe(c.bytes.toString('latin1'));
      }
    });
  }

  it('exposes parsed fields, framing and connection semantics', () => {
    const raw = request('GET', '/x', [
      ['Host', 'a.b'],
      ['Connection', 'Upgrade, keep-alive'],
      ['Upgrade', 'websocket'],
      ['Expect', '100-Continue'],
      ['user-AGENT', 'curl/8'],
    ]);
    const head = toRequestHead(raw, DEFAULT_HTTP_LIMITS);
    expect(head.method).toBe('GET');
    expect(head.version).toBe('1.1');
    expect(head.upgrade).toBe(true);
    expect(head.keepAlive).toBe(true);
    expect(head.expectContinue).toBe(true);
    expect(head.headers.map((h) => [h.name, h.value])).toEqual([
      ['host', 'a.b'],
      ['connection', 'Upgrade, keep-alive'],
      ['upgrade', 'websocket'],
      ['expect', '100-Continue'],
      ['user-agent', 'curl/8'],
    ]);
    const first = head.headers[0];
    expect(raw.toString('latin1', first?.lineStart, first?.lineEnd)).toBe('Host: a.b\r\n');
    expect(head.fieldsStart).toBe('GET /x HTTP/1.1\r\n'.length);
    const http10 = toRequestHead(Buffer.from('GET / HTTP/1.0\r\n\r\n'), DEFAULT_HTTP_LIMITS);
    expect(http10.keepAlive).toBe(false);
    expect(
      toRequestHead(
        Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'),
        DEFAULT_HTTP_LIMITS,
      ).keepAlive,
    ).toBe(false);
  });

  it('pauses after an upgrade request until the answer, then relays opaque bytes', () => {
    const upgrade = request('GET', '/ws', [
      host,
      ['Connection', 'Upgrade'],
      ['Upgrade', 'websocket'],
    ]);
    const frames = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    const { parser, out } = requestParser();
    parser.push(Buffer.concat([upgrade, frames]));
    expect(out.seen).toEqual([
      { type: 'head', line: 'GET /ws', framing: 'none' },
      { type: 'end', payloadBytes: 0 },
    ]);
    parser.upgrade();
    parser.push(Buffer.from('more'));
    expect(out.seen.slice(2)).toEqual([{ type: 'opaque', text: '\x81\x02hi' + 'more' }]);
  });

  it('parses HTTP again when the upgrade is refused', () => {
    const upgrade = request('GET', '/ws', [host, ['Connection', 'upgrade'], ['Upgrade', 'h2c']]);
    const next = request('GET', '/next', [host]);
    const { parser, out } = requestParser();
    parser.push(Buffer.concat([upgrade, next]));
    expect(out.seen).toHaveLength(2);
    parser.resume();
    expect(out.seen.slice(2)).toEqual([
      { type: 'head', line: 'GET /next', framing: 'none' },
      { type: 'end', payloadBytes: 0 },
    ]);
  });

  it('bounds the bytes held while an upgrade is unanswered', () => {
    const upgrade = request('GET', '/ws', [
      host,
      ['Connection', 'upgrade'],
      ['Upgrade', 'websocket'],
    ]);
    const { parser } = requestParser();
    parser.push(upgrade);
    expect(() => parser.push(Buffer.alloc(DEFAULT_HTTP_LIMITS.maxHeadBytes + 1))).toThrow(
      HttpProtocolError,
    );
  });

  const rejects: [string, Buffer, number][] = [
    [
      'Transfer-Encoding with Content-Length',
      request(
        'POST',
        '/',
        [host, ['Content-Length', '3'], ['Transfer-Encoding', 'chunked']],
        'abc',
      ),
      400,
    ],
    [
      'conflicting Content-Length',
      request('POST', '/', [host, ['Content-Length', '3'], ['Content-Length', '4']]),
      400,
    ],
    [
      'Content-Length list with different values',
      request('POST', '/', [host, ['Content-Length', '3, 4']]),
      400,
    ],
    ['signed Content-Length', request('POST', '/', [host, ['Content-Length', '+3']]), 400],
    ['chunked not last', request('POST', '/', [host, ['Transfer-Encoding', 'chunked, gzip']]), 400],
    ['unknown transfer coding', request('POST', '/', [host, ['Transfer-Encoding', 'rot13']]), 501],
    ['obs-fold', Buffer.from('GET / HTTP/1.1\r\nHost: a\r\nX-A: 1\r\n  continued\r\n\r\n'), 400],
    ['space before colon', Buffer.from('GET / HTTP/1.1\r\nHost : a\r\n\r\n'), 400],
    ['bare LF line end', Buffer.from('GET / HTTP/1.1\nHost: a\r\n\r\n\r\n\r\n'), 400],
    ['bare CR in a value', Buffer.from('GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n'), 400],
    ['NUL in a value', Buffer.from('GET / HTTP/1.1\r\nHost: a\0b\r\n\r\n'), 400],
    ['missing Host', Buffer.from('GET / HTTP/1.1\r\nAccept: */*\r\n\r\n'), 400],
    ['two Host fields', request('GET', '/', [host, host]), 400],
    ['HTTP/2.0 version', Buffer.from('GET / HTTP/2.0\r\nHost: a\r\n\r\n'), 505],
    ['lower-case version', Buffer.from('GET / http/1.1\r\nHost: a\r\n\r\n'), 400],
    ['double space in request line', Buffer.from('GET  / HTTP/1.1\r\nHost: a\r\n\r\n'), 400],
    ['non-token method', Buffer.from('G(T / HTTP/1.1\r\nHost: a\r\n\r\n'), 400],
    ['non-ASCII in target', Buffer.from('GET /\xe9 HTTP/1.1\r\nHost: a\r\n\r\n', 'latin1'), 400],
    [
      'chunk size not hex',
      request('POST', '/', [host, ['Transfer-Encoding', 'chunked']], 'zz\r\n'),
      400,
    ],
    [
      'chunk size with trailing space',
      request('POST', '/', [host, ['Transfer-Encoding', 'chunked']], '5 \r\nhello\r\n'),
      400,
    ],
    [
      'chunk data not followed by CRLF',
      request('POST', '/', [host, ['Transfer-Encoding', 'chunked']], '1\r\nab\r\n'),
      400,
    ],
    [
      'chunk size overflowing',
      request('POST', '/', [host, ['Transfer-Encoding', 'chunked']], 'fffffffffffffffffff\r\n'),
      400,
    ],
    [
      'obs-fold in trailer',
      request('POST', '/', [host, ['Transfer-Encoding', 'chunked']], '0\r\nA: 1\r\n b\r\n\r\n'),
      400,
    ],
    [
      'too many fields',
      request('GET', '/', [
        host,
        ...Array.from({ length: 100 }, (_, i): [string, string] => [`X-${i}`, 'v']),
      ]),
      431,
    ],
    ['request line too long', request('GET', '/' + 'a'.repeat(9000), [host]), 414],
    ['head too large', request('GET', '/', [host, ['X-Big', 'b'.repeat(17 * 1024)]]), 431],
    [
      'chunk extension too long',
      request('POST', '/', [host, ['Transfer-Encoding', 'chunked']], `1;${'e'.repeat(5000)}\r\n`),
      400,
    ],
    [
      'HTTP/1.0 with Transfer-Encoding',
      Buffer.from('POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'),
      400,
    ],
  ];
  for (const [name, bytes, status] of rejects) {
    it(`rejects ${name} with ${status}, whole and byte by byte`, () => {
      for (const pieces of [
        [bytes],
        cut(
          bytes,
          Array.from({ length: bytes.length }, (_, i) => i),
        ),
      ]) {
        const { parser } = requestParser();
        let error: unknown;
        try {
          for (const p of pieces) parser.push(p);
        } catch (err) {
          error = err;
        }
        expect(error).toBeInstanceOf(HttpProtocolError);
        expect((error as HttpProtocolError).status).toBe(status);
        // A failed parser ignores what follows instead of resynchronising on hostile bytes.
        expect(() => parser.push(request('GET', '/', [host]))).not.toThrow();
      }
    });
  }

  it('accepts identical repeated Content-Length values (RFC 9112 §6.3 item 5)', () => {
    const out = parseRequests([
      request('POST', '/', [host, ['Content-Length', '2, 2'], ['Content-Length', '2']], 'ok'),
    ]);
    expect(out.seen).toEqual([
      { type: 'head', line: 'POST /', framing: 'length' },
      { type: 'body', text: 'ok' },
      { type: 'end', payloadBytes: 2 },
    ]);
  });

  it('property: random chunking gives the same messages and the same bytes', () => {
    const stream = Buffer.concat(cases.map((c) => c.bytes));
    const whole = parseRequests([stream]);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 40 }),
        (offsets) => {
          const out = parseRequests(cut(stream, offsets));
          expect(out.seen).toEqual(whole.seen);
          expect(out.text()).toBe(stream.toString('latin1'));
        },
      ),
    );
  });

  it('property: random bytes only ever raise ProtocolError and hold at most one head', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { maxLength: 20 }),
        fc.boolean(),
        (chunks, prefixed) => {
          const { parser } = requestParser({
            ...DEFAULT_HTTP_LIMITS,
            maxHeadBytes: 512,
            maxStartLineBytes: 256,
          });
          const pieces = chunks.map((c) => Buffer.from(c));
          if (prefixed)
            pieces.unshift(
              Buffer.from('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n'),
            );
          try {
            for (const p of pieces) parser.push(p);
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolError);
          }
          // Memory stays bounded by one head (or one held upgrade tail), whatever arrives.
          expect(parser.heldBytes).toBeLessThanOrEqual(512);
        },
      ),
    );
  });
});
