/**
 * The native refusals a connection gets while the audit store is unavailable
 * (src/protocols/<name>/store-refusal.ts): hostile, mutated and chunked client bytes never
 * make them throw, they answer at most once and end at most once, and what they write is
 * bounded by what they read.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ConnectionRefusalFactory } from '../../src/protocols/index.js';
import { refuseHttpConnection } from '../../src/protocols/http/store-refusal.js';
import { refuseMysqlConnection } from '../../src/protocols/mysql/store-refusal.js';
import { refusePostgresConnection } from '../../src/protocols/postgres/store-refusal.js';
import { refuseRedisConnection } from '../../src/protocols/redis/store-refusal.js';
import { chunk, fuzzOptions, splits, streamFrom } from './harness.js';

function startup(params: Record<string, string>): Buffer {
  const body = Buffer.concat([
    Buffer.from([0, 3, 0, 0]),
    ...Object.entries(params).map(([k, v]) => Buffer.from(`${k}\0${v}\0`)),
    Buffer.from([0]),
  ]);
  const len = Buffer.alloc(4);
  len.writeInt32BE(body.length + 4);
  return Buffer.concat([len, body]);
}

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]);
const GSS_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x30]);

const TARGETS: readonly [string, ConnectionRefusalFactory, readonly Buffer[]][] = [
  [
    'postgres',
    refusePostgresConnection,
    [SSL_REQUEST, GSS_REQUEST, startup({ user: 'app', database: 'orders' })],
  ],
  ['mysql', refuseMysqlConnection, [Buffer.from([0x20, 0, 0, 1]), Buffer.alloc(32, 0x41)]],
  [
    'redis',
    refuseRedisConnection,
    [
      Buffer.from('*1\r\n$4\r\nPING\r\n'),
      Buffer.from('PING\r\n'),
      Buffer.from('*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'),
    ],
  ],
  [
    'http',
    refuseHttpConnection,
    [
      Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'),
      Buffer.from('POST /a HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc'),
    ],
  ],
];

describe('native refusals while the store is unavailable', () => {
  for (const [name, factory, seeds] of TARGETS) {
    it(`${name}: never throws, answers and ends at most once, writes what it read at most`, () => {
      fc.assert(
        fc.property(streamFrom(seeds), splits, (bytes, points) => {
          let written = 0;
          let done = 0;
          let writesAfterDone = 0;
          const refusal = factory({
            toClient: (b) => {
              if (done > 0) writesAfterDone++;
              written += b.length;
            },
            done: () => {
              done++;
            },
          });
          refusal.start();
          for (const c of chunk(bytes, points)) refusal.onClientData(c);
          expect(done).toBeLessThanOrEqual(1);
          expect(writesAfterDone).toBe(0);
          expect(written).toBeLessThanOrEqual(bytes.length + 4096);
        }),
        fuzzOptions(),
      );
    }, 600_000);
  }
});
