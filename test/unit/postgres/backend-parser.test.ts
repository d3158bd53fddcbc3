import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { BackendParser } from '../../../src/protocols/postgres/backend-parser.js';
import type { BackendMessage } from '../../../src/protocols/postgres/messages.js';
import { be, chunkings } from '../../helpers/pg-builder.js';

type Seen =
  BackendMessage | { readonly type: 'skipped'; readonly code: string; readonly bodyLength: number };

function collect(chunks: Buffer[], maxMessageBytes = 1 << 20): { seen: Seen[]; ends: number[] } {
  const seen: Seen[] = [];
  const ends: number[] = [];
  let offset = 0;
  const parser = new BackendParser(
    {
      message: (msg, end) => {
        seen.push(msg);
        ends.push(offset + end);
      },
      skipped: (code, bodyLength) =>
        seen.push({ type: 'skipped', code: String.fromCharCode(code), bodyLength }),
      skippedEnd: (end) => ends.push(offset + end),
    },
    { maxMessageBytes },
  );
  for (const chunk of chunks) {
    parser.push(chunk);
    offset += chunk.length;
  }
  expect(parser.atBoundary()).toBe(true);
  return { seen, ends };
}

const normalize = (value: unknown): unknown => JSON.parse(JSON.stringify(value)) as unknown;

/** Server messages from the builder and what the parser reports (protocol-message-formats). */
const login = [
  be.authSasl(['SCRAM-SHA-256']),
  be.authOk(),
  be.parameterStatus('server_version', '15.20'),
  be.keyData(4242),
  be.negotiate(0, ['_pq_.x']),
  be.ready('I'),
];
const results = [
  be.rowDescription(2),
  be.dataRow(['1', null]),
  be.dataRow(['2', 'two']),
  be.commandComplete('SELECT 2'),
  be.error('42P01', 'relation "nope" does not exist'),
  be.notice('hello'),
  be.emptyQuery(),
  be.parseComplete(),
  be.bindComplete(),
  be.closeComplete(),
  be.noData(),
  be.portalSuspended(),
  be.parameterDescription([23]),
  be.copyIn(2),
  be.copyOut(1),
  be.copyData('a\tb\n'),
  be.copyDone(),
  be.functionResult(Buffer.from('x')),
  be.ready('T'),
];
const expected: Seen[] = [
  { type: 'Authentication', code: 10 },
  { type: 'Authentication', code: 0 },
  { type: 'ParameterStatus', name: 'server_version', value: '15.20' },
  { type: 'BackendKeyData', processId: 4242, secretKey: Buffer.from([1, 2, 3, 4]) },
  { type: 'NegotiateProtocolVersion', minorVersion: 0, unrecognizedOptions: ['_pq_.x'] },
  { type: 'ReadyForQuery', status: 'I' },
  { type: 'skipped', code: 'T', bodyLength: 2 + 2 * (3 + 18) },
  { type: 'skipped', code: 'D', bodyLength: 2 + 4 + 1 + 4 },
  { type: 'skipped', code: 'D', bodyLength: 2 + 4 + 1 + 4 + 3 },
  { type: 'CommandComplete', tag: 'SELECT 2' },
  {
    type: 'ErrorResponse',
    fields: { severity: 'ERROR', sqlstate: '42P01', message: 'relation "nope" does not exist' },
  },
  { type: 'skipped', code: 'N', bodyLength: 31 },
  { type: 'EmptyQueryResponse' },
  { type: 'ParseComplete' },
  { type: 'BindComplete' },
  { type: 'CloseComplete' },
  { type: 'NoData' },
  { type: 'PortalSuspended' },
  { type: 'skipped', code: 't', bodyLength: 6 },
  { type: 'CopyInResponse', binary: false, columnCount: 2 },
  { type: 'CopyOutResponse', binary: false, columnCount: 1 },
  { type: 'skipped', code: 'd', bodyLength: 4 },
  { type: 'CopyDone' },
  { type: 'skipped', code: 'V', bodyLength: 5 },
  { type: 'ReadyForQuery', status: 'T' },
];

describe('BackendParser', () => {
  const stream = Buffer.concat([...login, ...results]);
  const frameEnds: number[] = [];
  let total = 0;
  for (const m of [...login, ...results]) frameEnds.push((total += m.length));

  it('decodes every server message whole, byte by byte and split at every offset, ends included', () => {
    for (const { name, chunks } of chunkings(stream)) {
      const got = collect(chunks);
      expect(normalize(got.seen), name).toEqual(normalize(expected));
      expect(got.ends, name).toEqual(frameEnds);
    }
  });

  const rejects: { name: string; bytes: Buffer; detail: RegExp }[] = [
    { name: 'length below 4', bytes: Buffer.from([0x5a, 0, 0, 0, 2]), detail: /below 4/ },
    {
      name: 'decoded message above the maximum',
      bytes: Buffer.from([0x45, 0, 0, 0x10, 0]),
      detail: /above 1024/,
    },
    {
      name: 'ReadyForQuery with an unknown status',
      bytes: Buffer.from([0x5a, 0, 0, 0, 5, 0x51]),
      detail: /unknown status/,
    },
    {
      name: 'ReadyForQuery without its status',
      bytes: Buffer.from([0x5a, 0, 0, 0, 4]),
      detail: /needs 1 bytes/,
    },
    {
      name: 'ErrorResponse without terminator',
      bytes: Buffer.from([0x45, 0, 0, 0, 7, 0x4d, 0x61, 0x62]),
      detail: /without terminator/,
    },
    {
      name: 'BackendKeyData with a 2-byte key',
      bytes: Buffer.from([0x4b, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0]),
      detail: /key of 2 bytes/,
    },
    {
      name: 'streamed message above 1 GiB',
      bytes: Buffer.from([0x44, 0x40, 0, 0, 0]),
      detail: /above 1073741823/,
    },
  ];
  for (const r of rejects) {
    it(`rejects ${r.name} with a ProtocolError`, () => {
      const parser = new BackendParser(
        { message: () => undefined, skipped: () => undefined, skippedEnd: () => undefined },
        { maxMessageBytes: 1024 },
      );
      let caught: unknown;
      try {
        parser.push(r.bytes);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(ProtocolError);
      expect((caught as ProtocolError).detail).toMatch(r.detail);
    });
  }

  it('passes a DataRow larger than the message maximum through without holding it', () => {
    const row = be.dataRow(['x'.repeat(100_000)]);
    let held = 0;
    const seen: string[] = [];
    const parser = new BackendParser(
      {
        message: (m) => seen.push(m.type),
        skipped: (c) => seen.push(String.fromCharCode(c)),
        skippedEnd: () => seen.push('end'),
      },
      { maxMessageBytes: 1024 },
    );
    for (let i = 0; i < row.length; i += 4096) {
      parser.push(row.subarray(i, i + 4096));
      held = Math.max(held, parser.bufferedBytes());
    }
    expect(seen).toEqual(['D', 'end']);
    expect(held).toBe(0);
  });

  it('property: random bytes give messages or a ProtocolError, within the cap', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 600 }),
        fc.integer({ min: 1, max: 64 }),
        (data, step) => {
          const parser = new BackendParser(
            { message: () => undefined, skipped: () => undefined, skippedEnd: () => undefined },
            { maxMessageBytes: 256 },
          );
          try {
            for (let i = 0; i < data.length; i += step) {
              parser.push(Buffer.from(data.subarray(i, i + step)));
              expect(parser.bufferedBytes()).toBeLessThanOrEqual(256 + 1);
            }
          } catch (err) {
            if (!(err instanceof ProtocolError)) throw err;
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('property: any chunking gives the same messages and ends', () => {
    const whole = collect([stream]);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1, maxLength: 40 }),
        (sizes) => {
          const chunks: Buffer[] = [];
          let pos = 0;
          for (let i = 0; pos < stream.length; i++) {
            const size = sizes[i % sizes.length] ?? 1;
            chunks.push(stream.subarray(pos, pos + size));
            pos += size;
          }
          const got = collect(chunks);
          expect(normalize(got.seen)).toEqual(normalize(whole.seen));
          expect(got.ends).toEqual(whole.ends);
        },
      ),
      { numRuns: 300 },
    );
  });
});
