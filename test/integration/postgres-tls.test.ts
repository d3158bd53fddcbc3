/**
 * TLS on both legs of a postgres listener: psql with sslmode=require terminates at the gateway
 * (statements stay visible in the record), and `upstream_tls: require` negotiates TLS toward a
 * target that answers SSLRequest with `S` (a small TLS front for the local PostgreSQL, since
 * the local server runs without SSL).
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitForRecord } from '../helpers/records.js';
import { run } from '../helpers/run.js';
import { selfSignedCert } from '../helpers/tls-cert.js';

let dir: string;
let tlsFront: net.Server;
let tlsHandshakes = 0;
let gw: TestGateway;

beforeAll(async () => {
  dir = (await selfSignedCert('localhost')).dir;
  const secureContext = tls.createSecureContext({
    cert: readFileSync(join(dir, 'cert.pem')),
    key: readFileSync(join(dir, 'key.pem')),
  });
  // A PostgreSQL "server" that requires TLS: answers SSLRequest with S, then relays the
  // decrypted stream to the real PostgreSQL.
  tlsFront = net.createServer((sock) => {
    sock.once('data', (first: Buffer) => {
      if (first.length !== 8 || first.readUInt32BE(4) !== 80877103) {
        sock.destroy();
        return;
      }
      sock.write('S');
      const secure = new tls.TLSSocket(sock, { isServer: true, secureContext });
      secure.once('secure', () => {
        tlsHandshakes++;
        const pg = net.connect(5432, '127.0.0.1');
        secure.pipe(pg).pipe(secure);
        pg.on('error', () => secure.destroy());
        secure.on('error', () => pg.destroy());
      });
    });
  });
  await new Promise<void>((r) => tlsFront.listen(0, '127.0.0.1', () => r()));
  const frontPort = (tlsFront.address() as net.AddressInfo).port;
  gw = await startGateway({
    listeners: [
      {
        name: 'pg-client-tls',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:5432',
        protocol: 'postgres',
        tls: { cert: join(dir, 'cert.pem'), key: join(dir, 'key.pem') },
      },
      {
        name: 'pg-upstream-tls',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${frontPort}`,
        protocol: 'postgres',
        upstream_tls: 'require',
      },
      {
        name: 'pg-upstream-plain-refused',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:5432',
        protocol: 'postgres',
        upstream_tls: 'require',
      },
    ],
  });
});

afterAll(async () => {
  await gw.stop();
  tlsFront.close();
});

describe('postgres TLS', () => {
  it('terminates client TLS and still records the statement', async () => {
    const out = await run('psql', [
      `host=127.0.0.1 port=${gw.port('pg-client-tls')} user=postgres dbname=test sslmode=require`,
      '-Atc',
      "select 'tls-visible-' || 42",
    ]);
    expect(out.trim()).toBe('tls-visible-42');
    const q = await waitForRecord(gw, 'db-query', (q) =>
      String(field(q, 'db.query.text')).includes('tls-visible-'),
    );
    expect(field(q, 'tls.established')).toBe(true);
    expect(String(field(q, 'tls.version'))).toMatch(/^TLSv1\.[23]$/);
  });

  it('negotiates TLS toward the target with upstream_tls: require', async () => {
    const before = tlsHandshakes;
    const out = await run('psql', [
      `host=127.0.0.1 port=${gw.port('pg-upstream-tls')} user=postgres dbname=test sslmode=disable`,
      '-Atc',
      "select 'up-tls-' || 7",
    ]);
    expect(out.trim()).toBe('up-tls-7');
    expect(tlsHandshakes).toBe(before + 1);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'db-result').some((r) => field(r, 'listener.name') === 'pg-upstream-tls'),
    );
    const q = byAction(evs, 'db-query').find((x) =>
      String(field(x, 'db.query.text')).includes('up-tls-'),
    );
    expect(field(q ?? {}, 'upstream_tls.established')).toBe(true);
  });

  it('refuses the connection when the target does not offer TLS and upstream_tls requires it', async () => {
    await expect(
      run('psql', [
        `host=127.0.0.1 port=${gw.port('pg-upstream-plain-refused')} user=postgres dbname=test sslmode=disable connect_timeout=5`,
        '-Atc',
        'select 1',
      ]),
    ).rejects.toThrow();
    const open = await waitForRecord(
      gw,
      'connection-open',
      (o) => field(o, 'listener.name') === 'pg-upstream-plain-refused',
    );
    expect(field(open, 'event.outcome')).toBe('failure');
    expect(field(open, 'event.reason')).toBe('upstream-unreachable');
    expect(String(field(open, 'error.message'))).toContain('does not support TLS');
  });
});
