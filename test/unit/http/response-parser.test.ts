import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { HttpProtocolError, ResponseParser } from '../../../src/protocols/http/index.js';
import { chunkedBody, cut, response, splits } from '../../helpers/http-builder.js';
import { parseResponses, responseParser } from '../../helpers/http-collect.js';
import type { Seen } from '../../helpers/http-collect.js';

interface Case {
  readonly name: string;
  readonly methods: readonly string[];
  readonly bytes: Buffer;
  readonly expected: readonly Seen[];
}

const cases: Case[] = [
  {
    // RFC 9112 §6.3 item 1: a response to HEAD has no body whatever its Content-Length.
    name: 'HEAD then GET, matched in order',
    methods: ['HEAD', 'GET'],
    bytes: Buffer.concat([
      response(200, 'OK', [['Content-Length', '5']]),
      response(200, 'OK', [['Content-Length', '5']], 'hello'),
    ]),
    expected: [
      { type: 'head', line: '200', framing: 'none' },
      { type: 'end', payloadBytes: 0 },
      { type: 'head', line: '200', framing: 'length' },
      { type: 'body', text: 'hello' },
      { type: 'end', payloadBytes: 5 },
    ],
  },
  {
    // RFC 9110 §15.2: 1xx interim responses precede the final one; 204/304 carry no body.
    name: '100 Continue, 201, 204, 304',
    methods: ['POST', 'DELETE', 'GET'],
    bytes: Buffer.concat([
      response(100, 'Continue', []),
      response(201, 'Created', [['Content-Length', '2']], 'ok'),
      response(204, 'No Content', []),
      response(304, 'Not Modified', [['Content-Length', '100']]),
    ]),
    expected: [
      { type: 'head', line: '100', framing: 'none' },
      { type: 'head', line: '201', framing: 'length' },
      { type: 'body', text: 'ok' },
      { type: 'end', payloadBytes: 2 },
      { type: 'head', line: '204', framing: 'none' },
      { type: 'end', payloadBytes: 0 },
      { type: 'head', line: '304', framing: 'none' },
      { type: 'end', payloadBytes: 0 },
    ],
  },
  {
    // RFC 9112 §7.1 chunked response with a trailer.
    name: 'chunked response',
    methods: ['GET'],
    bytes: response(
      200,
      'OK',
      [['Transfer-Encoding', 'chunked']],
      chunkedBody(['ab', 'cde'], { trailers: [['X-T', '1']] }),
    ),
    expected: [
      { type: 'head', line: '200', framing: 'chunked' },
      { type: 'body', text: '2\r\nab\r\n3\r\ncde\r\n0\r\nX-T: 1\r\n\r\n' },
      { type: 'end', payloadBytes: 5 },
    ],
  },
  {
    // RFC 9110 §15.2.2: after 101 the connection speaks the new protocol.
    name: '101 Switching Protocols then opaque bytes',
    methods: ['GET'],
    bytes: Buffer.concat([
      response(101, 'Switching Protocols', [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
      ]),
      Buffer.from([0x81, 0x01, 0x41]),
    ]),
    expected: [
      { type: 'head', line: '101', framing: 'opaque' },
      { type: 'end', payloadBytes: 0 },
      { type: 'opaque', text: '\x81\x01A' },
    ],
  },
  {
    // RFC 9110 §9.3.6: a 2xx to CONNECT turns the connection into a tunnel.
    name: '200 to CONNECT',
    methods: ['CONNECT'],
    bytes: Buffer.concat([response(200, 'Connection Established', []), Buffer.from('tunnel')]),
    expected: [
      { type: 'head', line: '200', framing: 'opaque' },
      { type: 'end', payloadBytes: 0 },
      { type: 'opaque', text: 'tunnel' },
    ],
  },
];

describe('ResponseParser', () => {
  for (const c of cases) {
    it(`${c.name}: same messages whole, byte by byte and split at every offset`, () => {
      for (const { name, pieces } of splits(c.bytes)) {
        const out = parseResponses(c.methods, pieces);
        expect(out.seen, name).toEqual(c.expected);
        expect(out.text(), name).toBe(c.bytes.toString('latin1'));
      }
    });
  }

  it('a body without length ends when the server closes (RFC 9112 §6.3 item 8)', () => {
    const { parser, out } = responseParser();
    parser.expect('GET');
    parser.push(Buffer.from('HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\nall of '));
    parser.push(Buffer.from('it'));
    expect(out.seen.at(-1)).toEqual({ type: 'body', text: 'all of it' });
    parser.finish();
    expect(out.seen.at(-1)).toEqual({ type: 'end', payloadBytes: 9 });
  });

  it('a status line without reason phrase is accepted', () => {
    const out = parseResponses(['GET'], [Buffer.from('HTTP/1.1 204\r\n\r\n')]);
    expect(out.seen).toEqual([
      { type: 'head', line: '204', framing: 'none' },
      { type: 'end', payloadBytes: 0 },
    ]);
  });

  it('a response nobody asked for is framed as an answer to GET and flagged', () => {
    const flags: boolean[] = [];
    const p = new ResponseParser((m) => {
      if (m.type === 'response-head') flags.push(m.unsolicited);
    });
    p.push(
      response(408, 'Request Timeout', [
        ['Connection', 'close'],
        ['Content-Length', '0'],
      ]),
    );
    expect(flags).toEqual([true]);
  });

  const rejects: [string, Buffer][] = [
    [
      'Transfer-Encoding with Content-Length',
      response(200, 'OK', [
        ['Content-Length', '1'],
        ['Transfer-Encoding', 'chunked'],
      ]),
    ],
    [
      'conflicting Content-Length',
      response(200, 'OK', [
        ['Content-Length', '1'],
        ['Content-Length', '2'],
      ]),
    ],
    ['bad status code', Buffer.from('HTTP/1.1 2x0 OK\r\n\r\n')],
    ['status below 100', Buffer.from('HTTP/1.1 099 Low\r\n\r\n')],
    ['obs-fold', Buffer.from('HTTP/1.1 200 OK\r\nA: 1\r\n\tb\r\n\r\n')],
    ['not HTTP', Buffer.from('SSH-2.0-OpenSSH\r\n\r\n')],
  ];
  for (const [name, bytes] of rejects) {
    it(`rejects ${name}`, () => {
      const { parser } = responseParser();
      parser.expect('GET');
      expect(() => parser.push(bytes)).toThrow(HttpProtocolError);
    });
  }

  it('property: random chunking gives the same messages', () => {
    const methods = cases.slice(0, 3).flatMap((c) => c.methods);
    const stream = Buffer.concat(cases.slice(0, 3).map((c) => c.bytes));
    const whole = parseResponses(methods, [stream]);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: stream.length }), { maxLength: 30 }),
        (offsets) => {
          const out = parseResponses(methods, cut(stream, offsets));
          expect(out.seen).toEqual(whole.seen);
          expect(out.text()).toBe(stream.toString('latin1'));
        },
      ),
    );
  });

  it('property: random bytes only ever raise ProtocolError', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 20 }), (chunks) => {
        const { parser } = responseParser();
        parser.expect('GET');
        try {
          for (const c of chunks) parser.push(Buffer.from(c));
        } catch (err) {
          expect(err).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });
});
