/**
 * HTTP/1.1 and TLS passthrough through the real gateway with real clients: curl (keep-alive,
 * chunked upload), fetch, a WebSocket upgrade (`ws`) and `openssl s_client` with SNI.
 * Counts of recorded actions equal what the clients sent.
 */
import { readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import tls from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket, { WebSocketServer } from 'ws';
import type { JsonObject } from '../../src/audit/event.js';
import { compilePolicies } from '../../src/policy/index.js';
import { registerProtocol } from '../../src/protocols/index.js';
import { createHttpSession } from '../../src/protocols/http/index.js';
import { createTlsSession } from '../../src/protocols/tls/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitForRecord } from '../helpers/records.js';
import { runToExit } from '../helpers/run.js';
import { selfSignedCert } from '../helpers/tls-cert.js';

/** What the target server saw, per request. */
interface Seen {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly bodyBytes: number;
}

const seen: Seen[] = [];
let server: http.Server;
let wss: WebSocketServer;
let tlsServer: tls.Server;
let tlsServerNames: string[] = [];
let certDir: string;
let gw: TestGateway;

function listen(s: http.Server | tls.Server): Promise<number> {
  return new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)),
  );
}

beforeAll(async () => {
  registerProtocol('http', createHttpSession);
  registerProtocol('tls', createTlsSession);
  server = http.createServer((req, res) => {
    let bodyBytes = 0;
    req.on('data', (d: Buffer) => (bodyBytes += d.length));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes });
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ url: req.url, bodyBytes }));
    });
  });
  wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m: Buffer) => ws.send(`echo:${m.toString()}`)));
  const httpPort = await listen(server);

  certDir = (await selfSignedCert('test')).dir;
  tlsServerNames = [];
  tlsServer = tls.createServer(
    { key: readFileSync(join(certDir, 'key.pem')), cert: readFileSync(join(certDir, 'cert.pem')) },
    (sock) => {
      tlsServerNames.push(
        String((sock as tls.TLSSocket & { servername?: string | false }).servername),
      );
      sock.on('data', (d: Buffer) => sock.write(d));
      sock.on('error', () => sock.destroy());
    },
  );
  const tlsPort = await listen(tlsServer);

  const policyConfig = {
    web: {
      default: 'allow',
      rules: [{ id: 'no-admin', deny: { http: { paths: ['/admin/**'] } } }],
    },
  };
  const compiled = compilePolicies(policyConfig);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  gw = await startGateway({
    listeners: [
      {
        name: 'web',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${httpPort}`,
        protocol: 'http',
        forwarded: { forwarded: true, x_forwarded: true, request_id_header: 'X-Request-Id' },
      },
      {
        name: 'guarded',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${httpPort}`,
        protocol: 'http',
        policy: 'web',
      },
      { name: 'tls', listen: '127.0.0.1:0', target: `127.0.0.1:${tlsPort}`, protocol: 'tls' },
    ],
    policies: policyConfig,
    gatewayOptions: { policies: compiled.policies },
  });
});

afterAll(async () => {
  await gw.stop();
  wss.close();
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await new Promise((r) => tlsServer.close(r));
  rmSync(certDir, { recursive: true, force: true });
});

function requestsOf(evs: readonly JsonObject[], connId: unknown): JsonObject[] {
  return byAction(evs, 'http-request').filter((e) => field(e, 'connection.id') === connId);
}

describe('http listener with real clients', () => {
  it('curl keep-alive with two URLs: one connection, two requests, two responses, headers injected', async () => {
    const base = `http://127.0.0.1:${gw.port('web')}`;
    const before = seen.length;
    const out = await runToExit('curl', [
      '-sS',
      '-H',
      'X-Forwarded-For: 6.6.6.6',
      `${base}/one?a=1`,
      `${base}/two`,
    ]);
    expect(out.code).toBe(0);
    const got = seen.slice(before);
    expect(got.map((s) => s.url)).toEqual(['/one?a=1', '/two']);
    const evs = await gw.waitForEvents(
      (e) =>
        byAction(e, 'http-response').filter((r) => field(r, 'listener.name') === 'web').length >= 2,
    );
    const reqs = byAction(evs, 'http-request').filter((e) => field(e, 'url.path') === '/one');
    expect(reqs).toHaveLength(1);
    const connId = field(reqs[0] ?? {}, 'connection.id');
    const onConn = requestsOf(evs, connId);
    expect(onConn.map((e) => field(e, 'url.path'))).toEqual(['/one', '/two']);
    expect(
      byAction(evs, 'connection-open').filter((e) => field(e, 'connection.id') === connId),
    ).toHaveLength(1);
    const first = got[0];
    expect(first?.headers['x-forwarded-for']).toBe('127.0.0.1');
    expect(first?.headers['forwarded']).toMatch(/^for="127\.0\.0\.1:\d+";proto=http$/);
    expect(first?.headers['x-request-id']).toBe(field(onConn[0] ?? {}, 'event.id'));
    const responses = byAction(evs, 'http-response').filter(
      (e) => field(e, 'connection.id') === connId,
    );
    expect(
      responses.map((r) => [field(r, 'http.response.status_code'), field(r, 'event.reference')]),
    ).toEqual([
      [200, field(onConn[0] ?? {}, 'event.id')],
      [200, field(onConn[1] ?? {}, 'event.id')],
    ]);
  });

  it('curl chunked upload: body relayed as sent, its size recorded', async () => {
    const before = seen.length;
    const payload = 'x'.repeat(10_000);
    const out = await runToExit(
      'curl',
      [
        '-sS',
        '-H',
        'Transfer-Encoding: chunked',
        '--data-binary',
        '@-',
        `http://127.0.0.1:${gw.port('web')}/upload`,
      ],
      payload,
    );
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({ url: '/upload', bodyBytes: 10_000 });
    expect(seen.slice(before).map((s) => s.headers['transfer-encoding'])).toEqual(['chunked']);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'http-response').some((r) => field(r, 'http.request.body.bytes') === 10_000),
    );
    expect(
      byAction(evs, 'http-request').filter((e) => field(e, 'url.path') === '/upload'),
    ).toHaveLength(1);
  });

  it('fetch: query secrets redacted, user agent recorded', async () => {
    const res = await fetch(`http://127.0.0.1:${gw.port('web')}/search?q=x&token=hunter2`);
    expect(res.status).toBe(200);
    await res.text();
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'http-request').some((r) => field(r, 'url.path') === '/search'),
    );
    const rec = byAction(evs, 'http-request').find((r) => field(r, 'url.path') === '/search');
    expect(field(rec ?? {}, 'url.query')).toBe('q=x&token=REDACTED');
    expect(String(field(rec ?? {}, 'user_agent.original'))).toContain('node');
    expect(JSON.stringify(evs)).not.toContain('hunter2');
  });

  it('a denied request gets our 403 and never reaches the target', async () => {
    const before = seen.length;
    const res = await fetch(`http://127.0.0.1:${gw.port('guarded')}/admin/users`, {
      method: 'POST',
      body: 'drop me',
    });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: 'forbidden',
      reason: expect.any(String) as unknown,
      rule: 'no-admin',
    });
    const ok = await fetch(`http://127.0.0.1:${gw.port('guarded')}/public`);
    expect(ok.status).toBe(200);
    await ok.text();
    expect(seen.slice(before).map((s) => s.url)).toEqual(['/public']);
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'http-response').some((r) => field(r, 'http.response.status_code') === 403),
    );
    const denied = byAction(evs, 'http-request').find(
      (r) => field(r, 'url.path') === '/admin/users',
    );
    expect(field(denied ?? {}, 'event.type')).toEqual(['access', 'denied']);
    expect(field(denied ?? {}, 'rule.id')).toBe('no-admin');
  });

  it('WebSocket upgrade: one request recorded, 101, then frames relayed both ways', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${gw.port('web')}/socket`);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const replies: string[] = [];
    const two = new Promise<void>((resolve) =>
      ws.on('message', (m: Buffer) => {
        replies.push(m.toString());
        if (replies.length === 2) resolve();
      }),
    );
    ws.send('a');
    ws.send('b');
    await two;
    expect(replies).toEqual(['echo:a', 'echo:b']);
    ws.close();
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'http-response').some((r) => field(r, 'http.response.status_code') === 101),
    );
    const up = byAction(evs, 'http-request').filter((r) => field(r, 'url.path') === '/socket');
    expect(up).toHaveLength(1);
    expect(requestsOf(evs, field(up[0] ?? {}, 'connection.id'))).toHaveLength(1);
  });
});

describe('tls listener with openssl s_client', () => {
  it('records the SNI and relays the handshake untouched', async () => {
    const out = await runToExit(
      'openssl',
      [
        's_client',
        '-connect',
        `127.0.0.1:${gw.port('tls')}`,
        '-servername',
        'db.internal',
        '-alpn',
        'postgresql',
      ],
      'ping\n',
    );
    expect(out.stdout).toContain('CONNECTED');
    expect(out.stdout).toMatch(/Protocol\s*:\s*TLSv1\.3|New, TLSv1\.3/);
    expect(tlsServerNames).toContain('db.internal');
    const hello = await waitForRecord(
      gw,
      'tls-client-hello',
      (r) => field(r, 'tls.client.server_name') === 'db.internal',
    );
    expect(field(hello, 'event.outcome')).toBe('success');
    expect(field(hello, 'tls.next_protocol')).toEqual(['postgresql']);
    expect(field(hello, 'tls.version')).toBe('1.3');
    const connId = field(hello, 'connection.id');
    const close = await gw.waitForEvents((e) =>
      byAction(e, 'connection-close').some((c) => field(c, 'connection.id') === connId),
    );
    const closeRec = byAction(close, 'connection-close').find(
      (c) => field(c, 'connection.id') === connId,
    );
    // annotate() puts the SNI on every later record of the connection, close included.
    expect(field(closeRec ?? {}, 'tls.client.server_name')).toBe('db.internal');
  });
});
