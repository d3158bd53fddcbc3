/**
 * Every protocol session (which drives the protocol's parsers both ways) under mutated,
 * randomly chunked client and server streams: no throw, ever (see feedSession).
 */
import fc from 'fast-check';
import { beforeAll, describe, it } from 'vitest';
import { initProtocols, sessionFactoryFor } from '../../src/protocols/index.js';
import type { SessionFactory } from '../../src/protocols/index.js';
import { be, fe } from '../helpers/pg-builder.js';
import * as my from '../helpers/mysql-builder.js';
import * as resp from '../helpers/redis-resp.js';
import { request, requestWithBody, response, chunkedBody } from '../helpers/http-builder.js';
import {
  alpnExtension,
  clientHelloMessage,
  records,
  sniExtension,
} from '../unit/tls/hello-builder.js';
import { chunk, feedSession, fuzzOptions, splits, streamFrom } from './harness.js';

function factory(protocol: string): SessionFactory {
  const f = sessionFactoryFor(protocol);
  if (!f) throw new Error(`no session for ${protocol}`);
  return f;
}

beforeAll(async () => {
  await initProtocols(['postgres']);
});

function fuzzProtocol(
  protocol: string,
  client: readonly Buffer[],
  server: readonly Buffer[],
): void {
  it(`${protocol}: mutated client and server streams, random chunking`, () => {
    const create = factory(protocol);
    fc.assert(
      fc.property(streamFrom(client), splits, streamFrom(server), splits, (c, cs, s, ss) => {
        feedSession(create, chunk(c, cs), chunk(s, ss));
      }),
      fuzzOptions(),
    );
  }, 600_000);
}

describe('protocol sessions never throw on hostile bytes', () => {
  fuzzProtocol(
    'postgres',
    [
      fe.startup({ user: 'app', database: 'shop', application_name: 'fuzz' }),
      fe.query("SELECT 1; UPDATE t SET a = 'x' WHERE id = 2"),
      fe.parse('s1', 'SELECT $1::int'),
      fe.bind('', 's1', ['42']),
      fe.describe('P'),
      fe.execute(),
      fe.sync(),
      fe.query('COPY t FROM STDIN'),
      fe.copyData('1\tx\n'),
      fe.copyDone(),
      fe.password('secret'),
      fe.terminate(),
    ],
    [
      be.authOk(),
      be.parameterStatus('server_version', '15'),
      be.keyData(42),
      be.ready('I'),
      be.rowDescription(1),
      be.dataRow(['1']),
      be.commandComplete('SELECT 1'),
      be.parseComplete(),
      be.bindComplete(),
      be.error('42P01', 'no such table'),
      be.copyIn(1),
      be.ready('T'),
    ],
  );
  fuzzProtocol(
    'mysql',
    [
      my.packet(1, my.handshakeResponse41()),
      my.comQuery('SELECT 1; SELECT 2'),
      my.comPrepare('SELECT ?'),
      my.comExecute(1, [{ type: 3, value: Buffer.from([1, 0, 0, 0]) }]),
      my.comInitDb('shop'),
      my.comPing(),
      my.comClose(1),
      // COM_STMT_EXECUTE opening a read-only cursor, then COM_STMT_FETCH of 2 rows.
      my.command(0x17, Buffer.concat([my.int4(1), my.int1(1), my.int4(1)])),
      my.command(0x1c, Buffer.concat([my.int4(1), my.int4(2)])),
      my.comQuit(),
    ],
    [
      my.packet(0, my.handshakeV10()),
      my.packet(2, my.ok()),
      my.packet(1, my.err(1146, '42S02', 'no such table')),
      my.textResultSet(1, ['a'], [['1'], [null]]),
      my.packet(1, my.prepareOk(1, 1, 1)),
      my.packet(1, my.eof()),
      // A cursor opened (SERVER_STATUS_CURSOR_EXISTS), then the last rows of a fetch.
      my.packet(3, my.eof(0x0042)),
      my.packet(1, Buffer.from([0x00, 0x00, 0x01])),
      my.packet(2, my.eof(0x00c2)),
    ],
  );
  fuzzProtocol(
    'redis',
    [
      resp.command('HELLO', '3'),
      resp.command('AUTH', 'user', 'secret'),
      resp.command('SET', 'k', 'v'),
      resp.command('GET', 'k'),
      resp.inline('PING'),
      resp.command('MULTI'),
      resp.command('INCR', 'n'),
      resp.command('EXEC'),
      resp.command('SUBSCRIBE', 'ch'),
      resp.command('MSET', 'a', '1', 'b', '2', 'c', '3'),
      resp.command('EVAL', 'return 1', '2', 'a', 'b', 'x'),
      resp.command('XREAD', 'COUNT', '1', 'STREAMS', 's', 't', '0', '0'),
      resp.command('SORT', 'l', 'LIMIT', '0', '1', 'STORE', 'd'),
    ],
    [
      resp.simple('OK'),
      resp.bulk('v'),
      resp.integer(1),
      resp.error('ERR nope'),
      resp.array(resp.integer(1), resp.nullBulk()),
      resp.map([resp.bulk('server'), resp.bulk('redis')]),
      resp.push(resp.bulk('message'), resp.bulk('ch'), resp.bulk('hi')),
      resp.double('1.5'),
      resp.verbatim('txt', 'hello'),
    ],
  );
  fuzzProtocol(
    'http',
    [
      request('GET', '/a?b=c', [
        ['Host', 'svc'],
        ['Authorization', 'Bearer x.y.z'],
      ]),
      requestWithBody('POST', '/p', [['Host', 'svc']], 'hello'),
      request(
        'POST',
        '/c',
        [
          ['Host', 'svc'],
          ['Transfer-Encoding', 'chunked'],
        ],
        chunkedBody(['ab', 'cdef']),
      ),
      request('GET', '/ws', [
        ['Host', 'svc'],
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
      ]),
    ],
    [
      response(200, 'OK', [['Content-Length', '2']], 'ok'),
      response(204, 'No Content', []),
      response(200, 'OK', [['Transfer-Encoding', 'chunked']], chunkedBody(['x'])),
      response(101, 'Switching Protocols', [
        ['Upgrade', 'websocket'],
        ['Connection', 'Upgrade'],
      ]),
    ],
  );
  fuzzProtocol(
    'tls',
    [
      records(
        clientHelloMessage({
          extensions: [sniExtension('db.internal'), alpnExtension(['h2', 'http/1.1'])],
        }),
      ),
      records(clientHelloMessage({ extensions: [sniExtension('x')] }), 40),
    ],
    [Buffer.from([0x16, 0x03, 0x03, 0x00, 0x02, 0x02, 0x00])],
  );
});

describe('pure random bytes, every protocol', () => {
  it('random client and server bytes never throw', () => {
    const protocols = ['postgres', 'mysql', 'redis', 'http', 'tls', 'tcp'].map(factory);
    fc.assert(
      fc.property(
        fc.nat({ max: protocols.length - 1 }),
        fc.uint8Array({ maxLength: 2048 }),
        fc.uint8Array({ maxLength: 2048 }),
        splits,
        (p, c, s, points) => {
          const create = protocols[p];
          if (!create) return;
          feedSession(create, chunk(Buffer.from(c), points), chunk(Buffer.from(s), points));
        },
      ),
      fuzzOptions(),
    );
  }, 600_000);
});
