/** Client→server decoding: connection phase packets and command packets (Command Phase). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { MysqlClientParser } from '../../../src/protocols/mysql/index.js';
import type { ClientMessage, ClientPhase } from '../../../src/protocols/mysql/index.js';
import {
  CAP,
  CLIENT_CAPS,
  comChangeUser,
  comClose,
  comExecute,
  comInitDb,
  command,
  comPing,
  comPrepare,
  comQuery,
  handshakeResponse41,
  int1,
  int2,
  int4,
  nul,
  packet,
  sslRequest,
  str,
} from '../../helpers/mysql-builder.js';
import { chunkings, cutAt } from '../../helpers/mysql-feed.js';

interface Run {
  messages: unknown[];
  forwarded: Buffer;
}

/** Feeds chunks; payload views become hex so runs compare by value. */
function run(chunks: readonly Buffer[], phase: ClientPhase = 'command', max = 4096): Run {
  const messages: unknown[] = [];
  const forwarded: Buffer[] = [];
  const parser = new MysqlClientParser(max, {
    message: (m: ClientMessage, raw) => {
      messages.push(m.type === 'stmt-execute' ? { ...m, payload: m.payload.toString('hex') } : m);
      if (raw !== undefined) forwarded.push(Buffer.from(raw));
    },
    passthrough: (source, start, end) => forwarded.push(Buffer.from(source.subarray(start, end))),
  });
  parser.setPhase(phase);
  for (const c of chunks) parser.push(c);
  expect(parser.atBoundary()).toBe(true);
  return { messages, forwarded: Buffer.concat(forwarded) };
}

const handshake = packet(
  1,
  handshakeResponse41({
    user: 'alice',
    database: 'orders',
    attributes: { program_name: 'billing', _client_name: 'libtest' },
  }),
);

const cases: { name: string; phase: ClientPhase; bytes: Buffer; expected: unknown[] }[] = [
  {
    name: 'HandshakeResponse41 with database, plugin and attributes',
    phase: 'handshake',
    bytes: handshake,
    expected: [
      {
        type: 'handshake-response',
        seq: 1,
        capabilities: CLIENT_CAPS,
        mariadbCapabilities: 0,
        user: 'alice',
        database: 'orders',
        authPlugin: 'mysql_native_password',
        attributes: { program_name: 'billing', _client_name: 'libtest' },
      },
    ],
  },
  {
    name: 'SSLRequest (32 bytes)',
    phase: 'handshake',
    bytes: packet(1, sslRequest()),
    expected: [{ type: 'ssl-request', seq: 1, capabilities: CLIENT_CAPS | CAP.SSL }],
  },
  {
    name: 'authentication packets are opaque',
    phase: 'auth',
    bytes: Buffer.concat([packet(3, str('secret-scramble')), packet(5, Buffer.alloc(0))]),
    expected: [
      { type: 'auth-data', seq: 3 },
      { type: 'auth-data', seq: 5 },
    ],
  },
  {
    name: 'COM_QUERY, COM_INIT_DB, COM_PING',
    phase: 'command',
    bytes: Buffer.concat([comQuery('select 1; select 2'), comInitDb('orders'), comPing()]),
    expected: [
      { type: 'query', seq: 0, text: 'select 1; select 2' },
      { type: 'init-db', seq: 0, database: 'orders' },
      { type: 'command', seq: 0, command: 0x0e },
    ],
  },
  {
    name: 'prepared statements: PREPARE, EXECUTE, CLOSE, FETCH, RESET',
    phase: 'command',
    bytes: Buffer.concat([
      comPrepare('select * from t where id = ?'),
      comExecute(7, [{ type: 0x08, value: Buffer.alloc(8) }]),
      command(0x1c, Buffer.concat([int4(7), int4(100)])),
      command(0x1a, int4(7)),
      comClose(7),
    ]),
    expected: [
      { type: 'stmt-prepare', seq: 0, text: 'select * from t where id = ?' },
      {
        type: 'stmt-execute',
        seq: 0,
        statementId: 7,
        flags: 0,
        payload: comExecute(7, [{ type: 0x08, value: Buffer.alloc(8) }])
          .subarray(4)
          .toString('hex'),
      },
      { type: 'stmt-fetch', seq: 0, statementId: 7, rows: 100 },
      { type: 'stmt-reset', seq: 0, statementId: 7 },
      { type: 'stmt-close', seq: 0, statementId: 7 },
    ],
  },
  {
    name: 'COM_CHANGE_USER, COM_FIELD_LIST, COM_DROP_DB, COM_PROCESS_KILL',
    phase: 'command',
    bytes: Buffer.concat([
      command(0x04, Buffer.concat([nul('orders'), str('%')])),
      command(0x06, str('scratch')),
      command(0x0c, int4(99)),
    ]),
    expected: [
      { type: 'field-list', seq: 0, table: 'orders' },
      { type: 'drop-db', seq: 0, database: 'scratch' },
      { type: 'process-kill', seq: 0, processId: 99 },
    ],
  },
  {
    name: 'COM_STMT_SEND_LONG_DATA is streamed, not decoded',
    phase: 'command',
    bytes: Buffer.concat([
      command(0x18, Buffer.concat([int4(7), int2(0), Buffer.alloc(300, 0x41)])),
      comPing(),
    ]),
    expected: [
      { type: 'streamed', seq: 0, command: 0x18, length: 307 },
      { type: 'command', seq: 0, command: 0x0e },
    ],
  },
  {
    name: 'LOCAL INFILE contents stream until the empty packet',
    phase: 'infile',
    bytes: Buffer.concat([packet(2, str('a,b\n1,2\n')), packet(3, Buffer.alloc(0)), comPing()]),
    expected: [
      { type: 'streamed', seq: 2, command: 0x61, length: 8 },
      { type: 'infile-end', seq: 3 },
      { type: 'command', seq: 0, command: 0x0e },
    ],
  },
];

describe('MysqlClientParser', () => {
  for (const c of cases) {
    it.each(chunkings(c.bytes))(`${c.name}, fed $name`, ({ chunks }) => {
      const result = run(chunks, c.phase);
      expect(result.messages).toEqual(c.expected);
      expect(result.forwarded).toEqual(c.bytes);
    });
  }

  it('COM_CHANGE_USER moves to the auth phase', () => {
    const messages: ClientMessage[] = [];
    const parser = new MysqlClientParser(4096, {
      message: (m) => messages.push(m),
      passthrough: () => undefined,
    });
    parser.push(handshake);
    expect(parser.currentPhase()).toBe('auth');
    parser.setPhase('command');
    parser.push(comChangeUser('bob', 'sales'));
    expect(messages[1]).toEqual({
      type: 'change-user',
      seq: 0,
      user: 'bob',
      database: 'sales',
      authPlugin: 'mysql_native_password',
    });
    expect(parser.currentPhase()).toBe('auth');
  });

  it.each([
    ['a command with sequence id 1', packet(1, str('\x03select 1')), 'command'],
    ['an empty command packet', packet(0, Buffer.alloc(0)), 'command'],
    [
      'a pre-4.1 HandshakeResponse320',
      packet(1, Buffer.concat([int2(0x8), int3(0), nul('u')])),
      'handshake',
    ],
    [
      'a handshake response cut inside the user name',
      packet(1, Buffer.concat([int4(CLIENT_CAPS), int4(0), int1(0), Buffer.alloc(23), str('ali')])),
      'handshake',
    ],
    ['an EXECUTE too short for its statement id', command(0x17, int2(1)), 'command'],
    [
      'attributes longer than the packet',
      packet(
        1,
        Buffer.concat([
          handshakeResponse41({ attributes: {} }).subarray(0, -1),
          int1(0x40),
          str('ab'),
        ]),
      ),
      'handshake',
    ],
  ] as const)('refuses %s with a ProtocolError', (_name, bytes, phase) => {
    const parser = new MysqlClientParser(4096, {
      message: () => undefined,
      passthrough: () => undefined,
    });
    parser.setPhase(phase);
    expect(() => parser.push(bytes)).toThrow(ProtocolError);
  });

  it('random bytes give only ProtocolError and bounded memory', () => {
    fc.assert(
      fc.property(
        fc.constantFrom<ClientPhase>('handshake', 'auth', 'command', 'infile'),
        fc.uint8Array({ maxLength: 500 }),
        fc.array(fc.nat(500)),
        (phase, bytes, cuts) => {
          const parser = new MysqlClientParser(256, {
            message: () => undefined,
            passthrough: () => undefined,
          });
          parser.setPhase(phase);
          try {
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
    const commands = fc.array(
      fc.oneof(
        fc.string({ maxLength: 30 }).map(comQuery),
        fc.string({ maxLength: 30 }).map(comPrepare),
        fc.nat().map((n) => comClose(n)),
        fc.constant(comPing()),
        fc
          .uint8Array({ maxLength: 50 })
          .map((b) => command(0x18, Buffer.concat([int4(1), int2(0), Buffer.from(b)]))),
      ),
      { maxLength: 10 },
    );
    fc.assert(
      fc.property(commands, fc.array(fc.nat(400)), (list, cuts) => {
        const bytes = Buffer.concat(list);
        const whole = run([bytes]);
        const cut = run(
          cutAt(
            bytes,
            [...cuts].sort((a, b) => a - b),
          ),
        );
        expect(cut.messages).toEqual(whole.messages);
        expect(cut.forwarded).toEqual(bytes);
      }),
    );
  });
});

function int3(n: number): Buffer {
  return Buffer.from([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff]);
}
