import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { FrontendParser } from '../../../src/protocols/postgres/frontend-parser.js';
import type { FrontendMessage } from '../../../src/protocols/postgres/messages.js';
import { chunkings, fe } from '../../helpers/pg-builder.js';

interface Collected {
  readonly messages: FrontendMessage[];
  /** Every byte handed back (raw frames and passed-through bodies), in order. */
  readonly bytes: Buffer;
}

function collect(chunks: Buffer[], maxMessageBytes = 1 << 20): Collected {
  const messages: FrontendMessage[] = [];
  const parts: Buffer[] = [];
  const parser = new FrontendParser(
    {
      message: (msg, raw) => {
        messages.push(msg);
        parts.push(Buffer.from(raw));
      },
      body: (bytes) => parts.push(Buffer.from(bytes)),
    },
    { maxMessageBytes },
  );
  for (const chunk of chunks) parser.push(chunk);
  expect(parser.atBoundary()).toBe(true);
  return { messages, bytes: Buffer.concat(parts) };
}

function normalize(messages: FrontendMessage[]): unknown {
  // Buffers compare by content; views and copies look the same.
  return JSON.parse(JSON.stringify(messages)) as unknown;
}

/** Each case: bytes from the builder and what the parser must see (protocol-message-formats). */
const cases: { name: string; bytes: Buffer; expected: FrontendMessage[] }[] = [
  {
    name: 'StartupMessage then a Query',
    bytes: Buffer.concat([
      fe.startup({ user: 'app', database: 'orders', application_name: 'psql' }),
      fe.query('select 1'),
    ]),
    expected: [
      {
        type: 'StartupMessage',
        protocolVersion: 196608,
        parameters: { user: 'app', database: 'orders', application_name: 'psql' },
      },
      { type: 'Query', text: 'select 1' },
    ],
  },
  {
    name: 'SSLRequest and GSSENCRequest stay in the startup phase',
    bytes: Buffer.concat([fe.sslRequest(), fe.gssencRequest(), fe.startup({ user: 'u' })]),
    expected: [
      { type: 'SSLRequest' },
      { type: 'GSSENCRequest' },
      { type: 'StartupMessage', protocolVersion: 196608, parameters: { user: 'u' } },
    ],
  },
  {
    name: 'CancelRequest (3.0 key and a 3.2 32-byte key)',
    bytes: Buffer.concat([fe.cancelRequest(4242), fe.cancelRequest(7, Buffer.alloc(32, 9))]),
    expected: [
      { type: 'CancelRequest', processId: 4242, secretKey: Buffer.from([1, 2, 3, 4]) },
      { type: 'CancelRequest', processId: 7, secretKey: Buffer.alloc(32, 9) },
    ],
  },
  {
    name: 'extended protocol batch',
    bytes: Buffer.concat([
      fe.startup({ user: 'u' }),
      fe.parse('s1', 'select $1::int, $2', [23, 25]),
      fe.bind('p1', 's1', ['42', null], [0]),
      fe.describe('P', 'p1'),
      fe.execute('p1', 10),
      fe.close('S', 's1'),
      fe.sync(),
      fe.flush(),
      fe.terminate(),
    ]),
    expected: [
      { type: 'StartupMessage', protocolVersion: 196608, parameters: { user: 'u' } },
      { type: 'Parse', name: 's1', text: 'select $1::int, $2', parameterTypes: [23, 25] },
      {
        type: 'Bind',
        portal: 'p1',
        statement: 's1',
        parameterFormats: [0],
        parameters: [Buffer.from('42'), null],
      },
      { type: 'Describe', target: 'portal', name: 'p1' },
      { type: 'Execute', portal: 'p1', maxRows: 10 },
      { type: 'Close', target: 'statement', name: 's1' },
      { type: 'Sync' },
      { type: 'Flush' },
      { type: 'Terminate' },
    ],
  },
  {
    name: 'COPY data passes by count; password is never decoded',
    bytes: Buffer.concat([
      fe.startup({ user: 'u' }),
      fe.password('hunter2'),
      fe.copyData('1\tone\n'),
      fe.copyData(''),
      fe.copyDone(),
      fe.copyFail('stop'),
      fe.functionCall(1234, [Buffer.from('x')]),
    ]),
    expected: [
      { type: 'StartupMessage', protocolVersion: 196608, parameters: { user: 'u' } },
      { type: 'PasswordMessage', length: 8 },
      { type: 'CopyData', length: 6 },
      { type: 'CopyData', length: 0 },
      { type: 'CopyDone' },
      { type: 'CopyFail', message: 'stop' },
      { type: 'FunctionCall', functionOid: 1234, argumentCount: 1 },
    ],
  },
];

describe('FrontendParser', () => {
  for (const c of cases) {
    it(`${c.name}: same messages and bytes whole, byte by byte and split at every offset`, () => {
      for (const { name, chunks } of chunkings(c.bytes)) {
        const got = collect(chunks);
        expect(normalize(got.messages), name).toEqual(normalize(c.expected));
        expect(got.bytes.equals(c.bytes), name).toBe(true);
      }
    });
  }

  it('hands a whole message in one chunk back as a view, not a copy', () => {
    const bytes = fe.query('select 1');
    let raw: Buffer | null = null;
    const parser = new FrontendParser(
      { message: (_m, r) => (raw = r), body: () => undefined },
      { maxMessageBytes: 1024 },
    );
    parser.push(fe.startup({ user: 'u' }));
    parser.push(bytes);
    expect(raw).not.toBeNull();
    expect((raw as unknown as Buffer).buffer).toBe(bytes.buffer);
  });

  it('never turns a password message into text', () => {
    const got = collect([fe.startup({ user: 'u' }), fe.password('hunter2')]);
    expect(JSON.stringify(got.messages)).not.toContain('hunter2');
  });

  const rejects: { name: string; chunks: Buffer[]; detail: RegExp }[] = [
    {
      name: 'length below 4',
      chunks: [fe.startup({ user: 'u' }), Buffer.from([0x51, 0, 0, 0, 3])],
      detail: /below 4/,
    },
    {
      name: 'length above the maximum, before any body arrives',
      chunks: [fe.startup({ user: 'u' }), Buffer.from([0x51, 0, 0x10, 0, 0])],
      detail: /above 1024/,
    },
    {
      name: 'startup packet above 10000',
      chunks: [Buffer.from([0, 0, 0x27, 0x11])],
      detail: /above 10000/,
    },
    { name: 'startup packet below 8', chunks: [Buffer.from([0, 0, 0, 7])], detail: /below 8/ },
    {
      name: 'unknown type byte',
      chunks: [fe.startup({ user: 'u' }), Buffer.from([0x7a, 0, 0, 0, 4])],
      detail: /unknown message type 0x7a/,
    },
    {
      name: 'protocol 2.0',
      chunks: [fe.startup({ user: 'u' }, 0x20000)],
      detail: /unsupported protocol version 2\.0/,
    },
    {
      name: 'cancel key above 256 bytes',
      chunks: [fe.cancelRequest(1, Buffer.alloc(257))],
      detail: /key of 257 bytes/,
    },
    {
      name: 'Query without terminator',
      chunks: [fe.startup({ user: 'u' }), Buffer.from([0x51, 0, 0, 0, 6, 0x61, 0x62])],
      detail: /without terminator/,
    },
    {
      name: 'Bind parameter count larger than the body',
      chunks: [fe.startup({ user: 'u' }), Buffer.from([0x42, 0, 0, 0, 10, 0, 0, 0, 0, 0x7f, 0xff])],
      detail: /Bind: 32767 parameters/,
    },
    {
      name: 'Sync with a body',
      chunks: [fe.startup({ user: 'u' }), Buffer.from([0x53, 0, 0, 0, 5, 0])],
      detail: /Sync: 1 unexpected/,
    },
  ];
  for (const r of rejects) {
    it(`rejects ${r.name} with a ProtocolError`, () => {
      const parser = new FrontendParser(
        { message: () => undefined, body: () => undefined },
        { maxMessageBytes: 1024 },
      );
      let caught: unknown;
      try {
        for (const chunk of r.chunks) parser.push(chunk);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProtocolError);
      expect((caught as ProtocolError).detail).toMatch(r.detail);
    });
  }

  it('streams a CopyData larger than the message maximum without holding it', () => {
    const big = fe.copyData(Buffer.alloc(64 * 1024, 7));
    let held = 0;
    let bodyBytes = 0;
    const parser = new FrontendParser(
      { message: () => undefined, body: (b) => (bodyBytes += b.length) },
      { maxMessageBytes: 1024 },
    );
    parser.push(fe.startup({ user: 'u' }));
    for (let i = 0; i < big.length; i += 1000) {
      parser.push(big.subarray(i, i + 1000));
      held = Math.max(held, parser.bufferedBytes());
    }
    expect(bodyBytes).toBe(64 * 1024);
    expect(held).toBeLessThanOrEqual(5);
  });

  it('property: random bytes give messages or a ProtocolError, never anything else, within the cap', () => {
    fc.assert(
      fc.property(
        fc.boolean(),
        fc.uint8Array({ maxLength: 600 }),
        fc.integer({ min: 1, max: 64 }),
        (typed, data, step) => {
          const parser = new FrontendParser(
            { message: () => undefined, body: () => undefined },
            { maxMessageBytes: 256 },
          );
          try {
            if (typed) parser.push(fe.startup({ user: 'u' }));
            for (let i = 0; i < data.length; i += step) {
              parser.push(Buffer.from(data.subarray(i, i + step)));
              expect(parser.bufferedBytes()).toBeLessThanOrEqual(10_000);
            }
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: any chunking of a valid stream gives the same messages', () => {
    const stream = Buffer.concat([
      fe.parse('s1', 'select $1', [23]),
      fe.bind('p1', 's1', ['42']),
      fe.execute('p1'),
      fe.password('pw'),
      fe.copyData('abcdef'),
      fe.copyDone(),
      fe.query('select 1; select 2'),
      fe.sync(),
    ]);
    const whole = normalize(collect([Buffer.concat([fe.startup({ user: 'x' }), stream])]).messages);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 50 }),
        (sizes) => {
          const bytes = Buffer.concat([fe.startup({ user: 'x' }), stream]);
          const chunks: Buffer[] = [];
          let pos = 0;
          for (let i = 0; pos < bytes.length; i++) {
            const size = sizes[i % sizes.length] ?? 1;
            chunks.push(bytes.subarray(pos, pos + size));
            pos += size;
          }
          expect(normalize(collect(chunks).messages)).toEqual(whole);
        },
      ),
      { numRuns: 300 },
    );
  });
});
