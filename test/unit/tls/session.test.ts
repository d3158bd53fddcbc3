import { describe, expect, it } from 'vitest';
import { createTlsSession } from '../../../src/protocols/tls/index.js';
import { fakeSessionContext } from '../../helpers/fake-session-context.js';
import { splits } from '../../helpers/http-builder.js';
import {
  alpnExtension,
  clientHelloMessage,
  records,
  sniExtension,
  supportedVersionsExtension,
} from './hello-builder.js';

const hello = records(
  clientHelloMessage({
    extensions: [
      sniExtension('db.internal'),
      alpnExtension(['postgresql']),
      supportedVersionsExtension([0x0304]),
    ],
  }),
);

describe('TLS session', () => {
  it('holds bytes until the ClientHello is recorded, then relays untouched both ways', () => {
    const early = Buffer.from([23, 3, 3, 0, 2, 0xaa, 0xbb]); // an application_data record after the hello
    const stream = Buffer.concat([hello, early]);
    for (const { name, pieces } of splits(stream)) {
      const ctx = fakeSessionContext();
      const session = createTlsSession(ctx);
      for (const p of pieces) {
        session.onClientData(p);
        // Nothing is forwarded before the record exists.
        if (ctx.upstream.length > 0) expect(ctx.records.length, name).toBeGreaterThan(0);
      }
      expect(Buffer.concat(ctx.upstream).equals(stream), name).toBe(true);
      expect(ctx.actions('tls-client-hello'), name).toHaveLength(1);
    }
    const ctx = fakeSessionContext();
    const session = createTlsSession(ctx);
    session.onClientData(hello);
    expect(ctx.annotations).toEqual([
      {
        tls: {
          version: '1.3',
          version_protocol: 'tls',
          client: {
            ja3: expect.stringMatching(/^[0-9a-f]{32}$/) as unknown,
            server_name: 'db.internal',
          },
          next_protocol: ['postgresql'],
        },
      },
    ]);
    expect(ctx.records[0]).toMatchObject({
      event: {
        action: 'tls-client-hello',
        category: ['network'],
        type: ['protocol'],
        outcome: 'success',
      },
      tls: { client: { supported_ciphers_count: 3, supported_versions: ['1.3'] } },
    });
    session.onServerData(Buffer.from([22, 3, 3, 0, 1, 2]));
    expect(ctx.client).toEqual([Buffer.from([22, 3, 3, 0, 1, 2])]);
  });

  it('does not relay bytes that are not a ClientHello: records the reason, closes protocol-error', () => {
    const ctx = fakeSessionContext();
    const session = createTlsSession(ctx);
    session.onClientData(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(ctx.upstream).toHaveLength(0);
    expect(ctx.closed?.reason).toBe('protocol-error');
    expect(ctx.records[0]).toMatchObject({
      event: { action: 'tls-client-hello', outcome: 'failure' },
    });
    expect(ctx.records[0]?.event.reason).toMatch(/not a TLS handshake record/);
  });

  it('records an unfinished ClientHello when the connection closes', () => {
    const ctx = fakeSessionContext();
    const session = createTlsSession(ctx);
    session.onClientData(hello.subarray(0, 20));
    session.onClose?.();
    expect(ctx.upstream).toHaveLength(0);
    expect(ctx.records[0]).toMatchObject({
      event: {
        outcome: 'failure',
        reason: 'connection closed before the ClientHello was complete',
      },
    });
  });
});
