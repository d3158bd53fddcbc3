/** Server→client decoding: greeting, authentication, and every response shape (Command Phase). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { MysqlServerParser } from '../../../src/protocols/mysql/index.js';
import type {
  ExpectedResponse,
  Negotiated,
  ServerMessage,
} from '../../../src/protocols/mysql/index.js';
import {
  columnDef,
  eof,
  err,
  handshakeV10,
  int1,
  int2,
  lenenc,
  ok,
  packet,
  prepareOk,
  SERVER_CAPS,
  str,
  textResultSet,
  textRow,
} from '../../helpers/mysql-builder.js';
import { chunkings, cutAt } from '../../helpers/mysql-feed.js';

const MORE = 0x0008;

interface Run {
  messages: ServerMessage[];
  forwarded: Buffer;
}

function run(
  chunks: readonly Buffer[],
  expected: readonly ExpectedResponse[],
  negotiated: Negotiated = { deprecateEof: false, cacheMetadata: false },
  greeting = false,
): Run {
  const messages: ServerMessage[] = [];
  const forwarded: Buffer[] = [];
  const parser = new MysqlServerParser(4096, {
    message: (m, raw) => {
      messages.push(m);
      if (raw !== undefined) forwarded.push(Buffer.from(raw));
    },
    passthrough: (source, start, end) => forwarded.push(Buffer.from(source.subarray(start, end))),
  });
  parser.setNegotiated(negotiated);
  if (!greeting) parser.push(packet(0, handshakeV10()));
  messages.length = 0;
  forwarded.length = 0;
  for (const e of expected) parser.expect(e);
  for (const c of chunks) parser.push(c);
  expect(parser.atBoundary()).toBe(true);
  return { messages, forwarded: Buffer.concat(forwarded) };
}

const END = { type: 'response-end' };
const okFields = { affectedRows: 0, lastInsertId: 0, status: 2, warnings: 0 };
const rs = (seq: number, columnCount: number, rows: number, status = 2, cursorOpened = false) => ({
  type: 'result-set',
  seq,
  columnCount,
  rows,
  status,
  warnings: 0,
  cursorOpened,
});

const DEPRECATE = { deprecateEof: true, cacheMetadata: false };

const cases: {
  name: string;
  expect: ExpectedResponse[];
  negotiated?: Negotiated;
  bytes: Buffer;
  messages: unknown[];
}[] = [
  {
    name: 'OK with affected rows and last insert id (length-encoded)',
    expect: ['text-result'],
    bytes: packet(1, ok({ affected: 70000, insertId: 2n ** 40n })),
    messages: [
      { type: 'ok', seq: 1, ...okFields, affectedRows: 70000, lastInsertId: 2 ** 40 },
      END,
    ],
  },
  {
    name: 'ERR with SQLSTATE',
    expect: ['text-result'],
    bytes: packet(1, err(1146, '42S02', "Table 'test.nope' doesn't exist")),
    messages: [
      {
        type: 'error',
        seq: 1,
        errorNumber: 1146,
        sqlState: '42S02',
        message: "Table 'test.nope' doesn't exist",
      },
      END,
    ],
  },
  {
    name: 'a text result set with EOF packets',
    expect: ['text-result'],
    bytes: textResultSet(
      1,
      ['a', 'b'],
      [
        ['1', null],
        ['2', 'x'],
      ],
    ),
    messages: [rs(7, 2, 2), END],
  },
  {
    name: 'a text result set under CLIENT_DEPRECATE_EOF',
    expect: ['text-result'],
    negotiated: DEPRECATE,
    bytes: textResultSet(1, ['a'], [['1'], ['2'], ['3']], { deprecateEof: true }),
    messages: [rs(6, 1, 3), END],
  },
  {
    name: 'multi-results chained by SERVER_MORE_RESULTS_EXISTS',
    expect: ['text-result'],
    bytes: Buffer.concat([
      textResultSet(1, ['a'], [['1']], { status: 2 | MORE }),
      packet(6, ok({ affected: 3, status: 2 | MORE })),
      packet(7, err(1064, '42000', 'syntax')),
    ]),
    messages: [
      rs(5, 1, 1, 2 | MORE),
      { type: 'ok', seq: 6, ...okFields, affectedRows: 3, status: 2 | MORE },
      { type: 'error', seq: 7, errorNumber: 1064, sqlState: '42000', message: 'syntax' },
      END,
    ],
  },
  {
    name: 'an ERR in the middle of rows',
    expect: ['text-result'],
    bytes: Buffer.concat([
      packet(1, lenenc(1)),
      packet(2, columnDef('a')),
      packet(3, eof()),
      packet(4, textRow(['1'])),
      packet(5, err(1317, '70100', 'Query execution was interrupted')),
    ]),
    messages: [
      {
        type: 'error',
        seq: 5,
        errorNumber: 1317,
        sqlState: '70100',
        message: 'Query execution was interrupted',
      },
      END,
    ],
  },
  {
    name: 'LOCAL INFILE request then OK',
    expect: ['text-result'],
    bytes: Buffer.concat([
      packet(1, Buffer.concat([int1(0xfb), str('/tmp/data.csv')])),
      packet(4, ok({ affected: 2 })),
    ]),
    messages: [
      { type: 'local-infile', seq: 1, filename: '/tmp/data.csv' },
      { type: 'ok', seq: 4, ...okFields, affectedRows: 2 },
      END,
    ],
  },
  {
    name: 'COM_STMT_PREPARE_OK with parameter and column definitions',
    expect: ['prepare'],
    bytes: Buffer.concat([
      packet(1, prepareOk(5, 2, 1)),
      packet(2, columnDef('?')),
      packet(3, eof()),
      packet(4, columnDef('a')),
      packet(5, columnDef('b')),
      packet(6, eof()),
    ]),
    messages: [
      { type: 'prepare-ok', seq: 1, statementId: 5, columnCount: 2, paramCount: 1, warnings: 0 },
      END,
    ],
  },
  {
    name: 'COM_STMT_PREPARE_OK under CLIENT_DEPRECATE_EOF, then a ping OK',
    expect: ['prepare', 'simple'],
    negotiated: DEPRECATE,
    bytes: Buffer.concat([
      packet(1, prepareOk(6, 1, 0)),
      packet(2, columnDef('a')),
      packet(1, ok()),
    ]),
    messages: [
      { type: 'prepare-ok', seq: 1, statementId: 6, columnCount: 1, paramCount: 0, warnings: 0 },
      END,
      { type: 'ok', seq: 1, ...okFields },
      END,
    ],
  },
  {
    name: 'a binary result opening a cursor, then COM_STMT_FETCH rows',
    expect: ['binary-result', 'fetch'],
    bytes: Buffer.concat([
      packet(1, lenenc(1)),
      packet(2, columnDef('a')),
      packet(3, eof(0x0042)),
      packet(1, Buffer.from([0x00, 0x00, 0x01])),
      packet(2, Buffer.from([0x00, 0x00, 0x02])),
      packet(3, eof(0x0082)),
    ]),
    messages: [rs(3, 1, 0, 0x42, true), END, rs(3, 1, 2, 0x82), END],
  },
  {
    name: 'MariaDB cached metadata: a binary result without column definitions',
    expect: ['binary-result'],
    negotiated: { deprecateEof: true, cacheMetadata: true },
    bytes: Buffer.concat([
      packet(1, Buffer.concat([lenenc(2), int1(0)])),
      packet(2, Buffer.from([0x00, 0x00, 0x01, 0x02])),
      packet(3, ok({ header: 0xfe })),
    ]),
    messages: [rs(3, 2, 1), END],
  },
  {
    name: 'COM_FIELD_LIST, COM_STATISTICS, COM_PING',
    expect: ['field-list', 'statistics', 'simple'],
    bytes: Buffer.concat([
      packet(1, columnDef('a')),
      packet(2, columnDef('b')),
      packet(3, eof()),
      packet(1, str('Uptime: 5  Threads: 1')),
      packet(1, ok()),
    ]),
    messages: [
      { type: 'field-list', seq: 3, columns: 2 },
      END,
      { type: 'statistics', seq: 1, text: 'Uptime: 5  Threads: 1' },
      END,
      { type: 'ok', seq: 1, ...okFields },
      END,
    ],
  },
  {
    name: 'authentication: switch, more data, OK',
    expect: ['auth'],
    bytes: Buffer.concat([
      packet(
        2,
        Buffer.concat([int1(0xfe), str('caching_sha2_password\0'), str('01234567890123456789\0')]),
      ),
      packet(4, Buffer.from([0x01, 0x03])),
      packet(5, ok()),
    ]),
    messages: [
      { type: 'auth-switch', seq: 2, plugin: 'caching_sha2_password' },
      { type: 'auth-more-data', seq: 4 },
      { type: 'ok', seq: 5, ...okFields },
      END,
    ],
  },
  {
    name: 'a MariaDB progress report ends nothing',
    expect: ['text-result'],
    bytes: Buffer.concat([
      packet(
        1,
        Buffer.concat([
          int1(0xff),
          int2(0xffff),
          int1(1),
          int1(1),
          int1(1),
          Buffer.from([0, 0, 0]),
          lenenc(4),
          str('copy'),
        ]),
      ),
      packet(2, ok()),
    ]),
    messages: [{ type: 'progress', seq: 1 }, { type: 'ok', seq: 2, ...okFields }, END],
  },
];

describe('MysqlServerParser', () => {
  for (const c of cases) {
    it.each(chunkings(c.bytes))(`${c.name}, fed $name`, ({ chunks }) => {
      const result = run(chunks, c.expect, c.negotiated);
      expect(result.messages).toEqual(c.messages);
      // Every byte is handed on exactly once, in order.
      expect(result.forwarded).toEqual(c.bytes);
    });
  }

  const greeting = packet(
    0,
    handshakeV10({ capabilities: SERVER_CAPS, mariadb: 0x1d, connectionId: 77 }),
  );
  it.each(chunkings(greeting))('HandshakeV10, fed $name', ({ chunks }) => {
    const result = run(chunks, [], undefined, true);
    const hello = result.messages[0];
    expect(hello).toMatchObject({
      type: 'handshake',
      protocolVersion: 10,
      serverVersion: '5.5.5-10.11.19-MariaDB',
      connectionId: 77,
      capabilities: SERVER_CAPS,
      mariadbCapabilities: 0x1d,
      authPlugin: 'mysql_native_password',
    });
    // The capability words sit where the session edits them.
    if (hello?.type !== 'handshake') throw new Error('no handshake');
    expect(greeting.readUInt16LE(4 + hello.lowerCapabilityOffset)).toBe(SERVER_CAPS & 0xffff);
    expect(greeting.readUInt16LE(4 + hello.upperCapabilityOffset)).toBe(SERVER_CAPS >>> 16);
    expect(result.messages[1]).toEqual(END);
  });

  it('an ERR instead of a greeting (Too many connections)', () => {
    const result = run(
      [packet(0, err(1040, '', 'Too many connections', false))],
      [],
      undefined,
      true,
    );
    expect(result.messages[0]).toEqual({
      type: 'error',
      seq: 0,
      errorNumber: 1040,
      sqlState: 'HY000',
      message: 'Too many connections',
    });
  });

  it('passes an unsolicited ERR (idle timeout) but refuses other unsolicited packets', () => {
    expect(run([packet(0, err(4031, 'HY000', 'idle'))], []).messages).toEqual([
      { type: 'error', seq: 0, errorNumber: 4031, sqlState: 'HY000', message: 'idle' },
    ]);
    expect(() => run([packet(0, ok())], [])).toThrow(ProtocolError);
  });

  it.each([
    ['a column count of 0', ['text-result'], packet(1, lenenc(0))],
    ['an EOF where a result starts', ['text-result'], packet(1, eof())],
    ['a protocol version 9 greeting', [], packet(0, Buffer.concat([int1(9), str('x\0')]))],
    ['an unknown authentication reply', ['auth'], packet(2, Buffer.from([0x07]))],
    ['a PREPARE answer that is not OK', ['prepare'], packet(1, lenenc(3))],
    ['a ping answered with a result set', ['simple'], packet(1, lenenc(1))],
  ] as const)('refuses %s with a ProtocolError', (name, expected, bytes) => {
    expect(() => run([bytes], [...expected], undefined, name.includes('greeting'))).toThrow(
      ProtocolError,
    );
  });

  it('random bytes give only ProtocolError and bounded memory', () => {
    const shapes = fc.constantFrom<ExpectedResponse>(
      'text-result',
      'binary-result',
      'prepare',
      'fetch',
      'field-list',
      'simple',
      'auth',
      'statistics',
    );
    fc.assert(
      fc.property(
        shapes,
        fc.boolean(),
        fc.uint8Array({ maxLength: 500 }),
        fc.array(fc.nat(500)),
        (shape, deprecateEof, bytes, cuts) => {
          const parser = new MysqlServerParser(256, {
            message: () => undefined,
            passthrough: () => undefined,
          });
          try {
            parser.push(packet(0, handshakeV10()));
            parser.setNegotiated({ deprecateEof, cacheMetadata: false });
            for (let i = 0; i < 5; i += 1) parser.expect(shape);
            for (const c of cutAt(
              Buffer.from(bytes),
              [...cuts].sort((a, b) => a - b),
            )) {
              parser.push(c);
              expect(parser.bufferedBytes()).toBeLessThanOrEqual(256 + 8);
            }
          } catch (e) {
            expect(e).toBeInstanceOf(ProtocolError);
          }
        },
      ),
    );
  });

  it('random chunking gives the same messages', () => {
    const response = fc.oneof(
      fc.record({ affected: fc.nat(), id: fc.nat() }).map(({ affected, id }) => ({
        shape: 'text-result' as const,
        bytes: packet(1, ok({ affected, insertId: id })),
      })),
      fc
        .array(fc.array(fc.option(fc.string({ maxLength: 8 })), { minLength: 2, maxLength: 2 }), {
          maxLength: 5,
        })
        .map((rows) => ({
          shape: 'text-result' as const,
          bytes: textResultSet(1, ['a', 'b'], rows),
        })),
      fc.constant({
        shape: 'simple' as const,
        bytes: packet(1, err(1045, '28000', 'Access denied')),
      }),
    );
    fc.assert(
      fc.property(fc.array(response, { maxLength: 6 }), fc.array(fc.nat(600)), (list, cuts) => {
        const bytes = Buffer.concat(list.map((r) => r.bytes));
        const shapes = list.map((r) => r.shape);
        const whole = run([bytes], shapes);
        const cut = run(
          cutAt(
            bytes,
            [...cuts].sort((a, b) => a - b),
          ),
          shapes,
        );
        expect(cut.messages).toEqual(whole.messages);
        expect(cut.forwarded).toEqual(bytes);
      }),
    );
  });
});
