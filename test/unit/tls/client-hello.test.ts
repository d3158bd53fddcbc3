import net from 'node:net';
import tls from 'node:tls';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import {
  ClientHelloReader,
  ja3,
  offeredVersion,
  versionName,
} from '../../../src/protocols/tls/index.js';
import type { ClientHello } from '../../../src/protocols/tls/index.js';
import { cut, splits } from '../../helpers/http-builder.js';
import {
  alpnExtension,
  clientHelloMessage,
  extension,
  groupsExtension,
  pointFormatsExtension,
  records,
  sniExtension,
  supportedVersionsExtension,
} from './hello-builder.js';

const GREASE = 0x3a3a;

const modern = clientHelloMessage({
  ciphers: [GREASE, 0x1301, 0x1302, 0x1303, 0xc02b],
  extensions: [
    extension(GREASE, Buffer.alloc(0)),
    sniExtension('DB.Internal'),
    groupsExtension([GREASE, 0x001d, 0x0017]),
    pointFormatsExtension([0]),
    alpnExtension(['h2', 'http/1.1']),
    supportedVersionsExtension([GREASE, 0x0304, 0x0303]),
  ],
});

function readAll(pieces: readonly Buffer[]): ClientHello | undefined {
  const reader = new ClientHelloReader();
  let hello: ClientHello | undefined;
  for (const p of pieces) hello ??= reader.push(p);
  return hello;
}

describe('ClientHelloReader', () => {
  it('reads SNI, ALPN, supported_versions and JA3 inputs, whole, byte by byte and at every split', () => {
    const bytes = records(modern);
    for (const { name, pieces } of splits(bytes)) {
      const hello = readAll(pieces);
      expect(hello, name).toBeDefined();
      expect(hello?.serverName, name).toBe('db.internal');
      expect(hello?.alpn, name).toEqual(['h2', 'http/1.1']);
      expect(hello?.supportedVersions, name).toEqual([GREASE, 0x0304, 0x0303]);
    }
    const hello = readAll([bytes]);
    if (hello === undefined) throw new Error('no hello');
    expect(versionName(offeredVersion(hello))).toBe('1.3');
    // JA3 drops GREASE from every list — draft-ja3 / RFC 8701.
    expect(ja3(hello).text).toBe('771,4865-4866-4867-49195,0-10-11-16-43,29-23,0');
    expect(ja3(hello).hash).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reassembles a ClientHello spread over several records (RFC 8446 §5.1)', () => {
    const big = clientHelloMessage({
      extensions: [sniExtension('a.example'), extension(21, Buffer.alloc(3000))],
    });
    const hello = readAll([records(big, 700)]);
    expect(hello?.serverName).toBe('a.example');
    expect(hello?.extensions).toEqual([0, 21]);
  });

  it('accepts a TLS 1.2 hello without extensions, legacy version only', () => {
    const hello = readAll([records(clientHelloMessage({ legacyVersion: 0x0303 }))]);
    expect(hello?.extensions).toEqual([]);
    expect(hello?.serverName).toBeUndefined();
    expect(hello && versionName(offeredVersion(hello))).toBe('1.2');
  });

  const rejects: [string, Buffer][] = [
    ['plain HTTP', Buffer.from('GET / HTTP/1.1\r\n\r\n')],
    ['wrong record version', Buffer.from([22, 2, 0, 0, 5])],
    ['zero-length record', Buffer.from([22, 3, 1, 0, 0])],
    ['record longer than 2^14', Buffer.from([22, 3, 1, 0x40, 0x01])],
    ['ServerHello instead', records(Buffer.concat([Buffer.from([2, 0, 0, 4]), Buffer.alloc(4)]))],
    ['truncated body', records(Buffer.concat([Buffer.from([1, 0, 0, 3]), Buffer.from([3, 3, 0])]))],
    ['empty cipher_suites', records(clientHelloMessage({ ciphers: [] }))],
    ['session id longer than 32', records(clientHelloMessage({ sessionId: Buffer.alloc(33) }))],
    [
      'duplicate extension',
      records(clientHelloMessage({ extensions: [sniExtension('a'), sniExtension('b')] })),
    ],
    ['invalid host_name', records(clientHelloMessage({ extensions: [sniExtension('a b')] }))],
    [
      'empty ALPN name',
      records(clientHelloMessage({ extensions: [extension(16, Buffer.from([0, 2, 0, 0]))] })),
    ],
  ];
  for (const [name, bytes] of rejects) {
    it(`rejects ${name}`, () => {
      expect(() => readAll([bytes])).toThrow(ProtocolError);
    });
  }

  it('bounds the ClientHello size before buffering it', () => {
    const reader = new ClientHelloReader({ maxHelloBytes: 1000 });
    const header = Buffer.from([1, 0x01, 0x00, 0x00]); // declares 65536 bytes
    expect(() => reader.push(records(Buffer.concat([header, Buffer.alloc(100)])))).toThrow(
      /too large/,
    );
    const many = new ClientHelloReader({ maxHelloBytes: 1000 });
    expect(() => many.push(records(Buffer.alloc(1200, 1), 100))).toThrow(ProtocolError);
  });

  it('property: random chunking gives the same ClientHello', () => {
    const bytes = records(modern, 50);
    const expected = readAll([bytes]);
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: bytes.length }), { maxLength: 30 }),
        (offsets) => {
          expect(readAll(cut(bytes, offsets))).toEqual(expected);
        },
      ),
    );
  });

  it('property: random bytes give only ProtocolError and bounded memory', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }),
        fc.boolean(),
        (chunks, framed) => {
          const reader = new ClientHelloReader({ maxHelloBytes: 2048 });
          const pieces = chunks.map((c) => Buffer.from(c));
          if (framed) pieces.unshift(Buffer.from([22, 3, 1, 0x01, 0x00, 1, 0, 0, 0xfc]));
          try {
            for (const p of pieces) reader.push(p);
          } catch (err) {
            expect(err).toBeInstanceOf(ProtocolError);
          }
          expect(reader.heldBytes).toBeLessThanOrEqual(2048 + 4 + 16384 + 5);
        },
      ),
    );
  });

  it('reads a real ClientHello captured from node:tls', async () => {
    const captured = await new Promise<Buffer>((resolve, reject) => {
      const server = net.createServer((sock) => {
        const chunks: Buffer[] = [];
        const reader = new ClientHelloReader();
        sock.on('data', (d: Buffer) => {
          chunks.push(d);
          try {
            if (reader.push(d) !== undefined) {
              sock.destroy();
              server.close();
              resolve(Buffer.concat(chunks));
            }
          } catch (err) {
            reject(err instanceof Error ? err : new Error(String(err)));
          }
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const address = server.address();
        if (address === null || typeof address === 'string') return reject(new Error('no port'));
        const client = tls.connect({
          host: '127.0.0.1',
          port: address.port,
          servername: 'db.internal',
          ALPNProtocols: ['postgresql', 'h2'],
          rejectUnauthorized: false,
        });
        client.on('error', () => client.destroy());
      });
    });
    const hello = readAll([captured]);
    expect(hello?.serverName).toBe('db.internal');
    expect(hello?.alpn).toEqual(['postgresql', 'h2']);
    expect(hello && versionName(offeredVersion(hello))).toBe('1.3');
    expect(hello?.cipherSuites).toContain(0x1301);
  });
});
