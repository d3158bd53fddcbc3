/**
 * The HTTP API with fastify inject() over a real in-process gateway (tcp listener to the
 * local Redis, and a deny-all listener): auth per role, every endpoint, bad filters, the
 * api-request record, OpenAPI in sync with the routes, proofs, metrics and the SSE tail.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApiServer, type ApiServer } from '../../src/api/index.js';
import { verifyBundle } from '../../src/audit/integrity.js';
import { PortwardenError } from '../../src/errors.js';
import { silentLogger } from '../../src/log.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';

const sha = (s: string): string => createHash('sha256').update(s).digest('hex');
const TOKENS = { viewer: 'viewer-secret-1', auditor: 'auditor-secret-2', admin: 'admin-secret-3' };
const auth = (role: keyof typeof TOKENS): Record<string, string> => ({
  authorization: `Bearer ${TOKENS[role]}`,
});

let gw: TestGateway;
let api: ApiServer;
let webRoot: string;

/** One TCP connection through `listener`: send PING, read the answer (or the close), end. */
async function connectOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => {
      const local = s.localPort ?? 0;
      s.write('PING\r\n');
      s.once('data', () => s.end());
      s.once('close', () => resolve(local));
    });
    s.once('error', reject);
    s.once('end', () => s.end());
  });
}

beforeAll(async () => {
  gw = await startGateway({
    listeners: [
      { name: 'cache', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'tcp' },
      {
        name: 'locked',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:6379',
        protocol: 'tcp',
        policy: 'nobody',
      },
    ],
    policies: { nobody: { default: 'deny', rules: [] } },
    extra: {
      api: {
        listen: '127.0.0.1:0',
        tokens: [
          { name: 'viewer-token', role: 'viewer', token_sha256: sha(TOKENS.viewer) },
          { name: 'auditor-token', role: 'auditor', token_env: 'PW_TEST_AUDITOR_TOKEN' },
          { name: 'admin-token', role: 'admin', token_sha256: sha(TOKENS.admin) },
        ],
      },
    },
  });
  webRoot = mkdtempSync(join(tmpdir(), 'pw-web-'));
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>portwarden</title>');
  api = await createApiServer({
    gateway: gw.gateway,
    log: silentLogger(),
    env: { PW_TEST_AUDITOR_TOKEN: TOKENS.auditor },
    webRoot,
    processMetrics: false,
    scanInventory: () =>
      Promise.resolve([
        { ip: '127.0.0.1', port: 6379, family: 'tcp4', inode: 1, uid: 0, processes: [] },
      ]),
  });
  await connectOnce(gw.port('cache'));
  await connectOnce(gw.port('locked')).catch(() => 0);
  await gw.waitForEvents(
    (e) =>
      byAction(e, 'connection-close').length >= 1 && byAction(e, 'connection-open').length >= 2,
  );
});

afterAll(async () => {
  await api?.close();
  await gw?.stop();
  rmSync(webRoot, { recursive: true, force: true });
});

describe('auth', () => {
  it('refuses a request without a token, or with an unknown one, with 401 and a code', async () => {
    const none = await api.app.inject({ url: '/api/v1/events' });
    expect(none.statusCode).toBe(401);
    expect(none.json()).toEqual({
      error: { code: 'PW_ERR_API_AUTH', message: expect.stringContaining('token') as string },
    });
    const wrong = await api.app.inject({
      url: '/api/v1/events',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.statusCode).toBe(401);
    const basic = await api.app.inject({
      url: '/api/v1/events',
      headers: { authorization: 'Basic eDp5' },
    });
    expect(basic.statusCode).toBe(401);
  });

  it('gives each role what it may do: viewer reads, auditor proves, admin reloads', async () => {
    const cases: [keyof typeof TOKENS, string, string, number][] = [
      ['viewer', 'GET', '/api/v1/events', 200],
      ['viewer', 'GET', '/api/v1/events/0/proof', 403],
      ['viewer', 'GET', '/api/v1/export', 403],
      ['viewer', 'GET', '/api/v1/checkpoints', 403],
      ['viewer', 'POST', '/api/v1/integrity/verify', 403],
      ['viewer', 'POST', '/api/v1/policies/reload', 403],
      ['auditor', 'GET', '/api/v1/events/0/proof', 200],
      ['auditor', 'GET', '/api/v1/export', 200],
      ['auditor', 'POST', '/api/v1/policies/reload', 403],
      // No reloader handed to this server: the admin gets a clear 404, not a silent no-op.
      ['admin', 'POST', '/api/v1/policies/reload', 404],
    ];
    for (const [role, method, url, status] of cases) {
      const res = await api.app.inject({
        method: method as 'GET' | 'POST',
        url,
        headers: auth(role),
      });
      expect(`${role} ${method} ${url} ${res.statusCode}`).toBe(
        `${role} ${method} ${url} ${status}`,
      );
    }
    const session = await api.app.inject({ url: '/api/v1/session', headers: auth('auditor') });
    expect(session.json()).toMatchObject({ name: 'auditor-token', role: 'auditor', open: false });
  });

  it('admin reload uses the reloader handed over by portwarden start', async () => {
    let calls = 0;
    api.usePolicyReloader(() => {
      calls++;
      return { ok: true, sequence: 42 };
    });
    const res = await api.app.inject({
      method: 'POST',
      url: '/api/v1/policies/reload',
      headers: auth('admin'),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ ok: true, sequence: 42 });
    expect(calls).toBe(1);
  });

  it('records every request made with a token (name, role, route, status), never the token', async () => {
    await api.app.inject({ url: '/api/v1/listeners', headers: auth('viewer') });
    await api.app.inject({ url: '/api/v1/events/0/proof', headers: auth('viewer') });
    await api.app.inject({
      url: '/api/v1/events',
      headers: { authorization: 'Bearer not-a-token' },
    });
    const events = await gw.waitForEvents((e) =>
      byAction(e, 'api-request').some((r) => field(r, 'url.path') === '/api/v1/events/:ref/proof'),
    );
    const records = byAction(events, 'api-request');
    const listed = records.find((r) => field(r, 'url.path') === '/api/v1/listeners');
    expect(listed).toMatchObject({
      user: { name: 'viewer-token', roles: ['viewer'] },
      http: { request: { method: 'GET' }, response: { status_code: 200 } },
      event: { outcome: 'success' },
    });
    const forbidden = records.find((r) => field(r, 'url.path') === '/api/v1/events/:ref/proof');
    expect(field(forbidden ?? {}, 'http.response.status_code')).toBe(403);
    expect(records.some((r) => field(r, 'http.response.status_code') === 401)).toBe(true);
    const everything = JSON.stringify(events);
    for (const secret of [...Object.values(TOKENS), 'not-a-token'])
      expect(everything).not.toContain(secret);
  });

  it('refuses to start off loopback without tokens; on loopback without tokens reads are open', async () => {
    await expect(
      createApiServer({
        gateway: gw.gateway,
        log: silentLogger(),
        listen: { host: '0.0.0.0', port: 0 },
        env: {},
      }),
    ).rejects.toThrow(PortwardenError);
    const tokenless = await startGateway({
      listeners: [],
      extra: { api: { listen: '127.0.0.1:0' } },
    });
    try {
      const open = await createApiServer({
        gateway: tokenless.gateway,
        log: silentLogger(),
        webRoot: null,
        processMetrics: false,
      });
      expect((await open.app.inject({ url: '/api/v1/events' })).statusCode).toBe(200);
      expect((await open.app.inject({ url: '/api/v1/events/0/proof' })).statusCode).not.toBe(403);
      expect(
        (await open.app.inject({ method: 'POST', url: '/api/v1/policies/reload' })).statusCode,
      ).toBe(403);
      await open.close();
    } finally {
      await tokenless.stop();
    }
  });

  it('refuses a token_env whose variable is not set', async () => {
    await expect(
      createApiServer({ gateway: gw.gateway, log: silentLogger(), env: {} }),
    ).rejects.toThrow(/PW_TEST_AUDITOR_TOKEN/);
  });
});

describe('endpoints', () => {
  it('answers every documented GET with 200 and JSON for an auditor', async () => {
    const open = byAction(gw.events(), 'connection-open')[0] ?? {};
    const conn = String(field(open, 'connection.id'));
    const src = `${String(field(open, 'source.ip'))}:${String(field(open, 'source.port'))}`;
    const urls = [
      '/api/v1/events?listener=cache&limit=5',
      '/api/v1/events/0',
      `/api/v1/events/${String(field(open, 'event.id'))}`,
      '/api/v1/events/0/proof',
      '/api/v1/export?listener=cache',
      `/api/v1/connections/${conn}/story`,
      '/api/v1/connections',
      `/api/v1/who?endpoint=${src}&at=${encodeURIComponent(String(field(open, '@timestamp')))}`,
      '/api/v1/stats?since=1h&interval=1m',
      '/api/v1/listeners',
      '/api/v1/policies',
      '/api/v1/policies/versions',
      '/api/v1/integrity',
      '/api/v1/checkpoints',
      '/api/v1/alerts',
      '/api/v1/inventory',
      '/api/v1/grants',
      '/api/v1/session',
      '/metrics',
    ];
    for (const url of urls) {
      const res = await api.app.inject({ url, headers: auth('auditor') });
      expect(`${url} ${res.statusCode}`).toBe(`${url} 200`);
    }
    const documented = api.routes
      .filter((r) => r.documented && r.method === 'GET')
      .map((r) => r.url);
    const covered = new Set(
      urls.map((u) =>
        u
          .split('?')[0]
          ?.replace(/^\/api\/v1\/events\/[^/]+/, '/api/v1/events/:ref')
          .replace(/^\/api\/v1\/connections\/[^/]+\/story/, '/api/v1/connections/:id/story'),
      ),
    );
    for (const r of documented) if (r !== '/api/v1/live') expect(covered).toContain(r);
  });

  it('search finds a connection by source port and pages with a keyset cursor', async () => {
    const open = byAction(gw.events(), 'connection-open').find(
      (e) => field(e, 'listener.name') === 'cache',
    );
    const port = Number(field(open ?? {}, 'source.port'));
    const res = await api.app.inject({
      url: `/api/v1/events?source_port=${port}`,
      headers: auth('viewer'),
    });
    const body = res.json<{
      events: { source: { port: number }; action: string; record: unknown }[];
    }>();
    expect(body.events.length).toBeGreaterThanOrEqual(2);
    expect(body.events.every((e) => e.source.port === port)).toBe(true);
    const first = await api.app.inject({ url: '/api/v1/events?limit=1', headers: auth('viewer') });
    const page1 = first.json<{ events: { sequence: number }[]; next: number }>();
    expect(page1.next).toBe(page1.events[0]?.sequence);
    const second = await api.app.inject({
      url: `/api/v1/events?limit=1&after=${page1.next}`,
      headers: auth('viewer'),
    });
    expect(second.json<{ events: { sequence: number }[] }>().events[0]?.sequence).toBeLessThan(
      page1.next,
    );
  });

  it('answers bad filters with 400 and a message naming the parameter', async () => {
    const bad: [string, RegExp][] = [
      ['port=abc', /port/],
      ['since=yesterday', /since/],
      ['limit=0', /limit/],
      ['limit=5000', /limit/],
      ['outcome=maybe', /outcome/],
      ['order=sideways', /order/],
      ['source=not-an-ip', /source/],
      ['frobnicate=1', /frobnicate/],
      ['since=1h&until=2h', /until/],
    ];
    for (const [query, message] of bad) {
      const res = await api.app.inject({ url: `/api/v1/events?${query}`, headers: auth('viewer') });
      expect(`${query} ${res.statusCode}`).toBe(`${query} 400`);
      const err = res.json<{ error: { code: string; message: string } }>().error;
      expect(err.code).toBe('PW_ERR_QUERY');
      expect(err.message).toMatch(message);
    }
    const who = await api.app.inject({
      url: '/api/v1/who?endpoint=1.2.3.4',
      headers: auth('viewer'),
    });
    expect(who.statusCode).toBe(400);
    const missing = await api.app.inject({ url: '/api/v1/events/999999', headers: auth('viewer') });
    expect(missing.statusCode).toBe(404);
    expect(missing.json<{ error: { code: string } }>().error.code).toBe('PW_ERR_NOT_FOUND');
  });

  it('shows the denial in stats and metrics, and listeners with their policy', async () => {
    const stats = await api.app.inject({
      url: '/api/v1/stats?since=10m&interval=1m',
      headers: auth('viewer'),
    });
    const s = stats.json<{
      series: { listener: string; outcome: string; counts: number[] }[];
      denials: number[];
    }>();
    const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
    expect(sum(s.denials)).toBeGreaterThanOrEqual(1);
    expect(
      sum(s.series.find((x) => x.listener === 'cache' && x.outcome === 'success')?.counts ?? []),
    ).toBeGreaterThanOrEqual(1);
    const metrics = await api.app.inject({ url: '/metrics', headers: auth('viewer') });
    expect(metrics.body).toMatch(
      /portwarden_denials_total\{listener="locked",action="connection-open"\} 1/,
    );
    expect(metrics.body).toMatch(/portwarden_records_appended_total \d+/);
    expect(metrics.body).toMatch(/portwarden_commit_seconds_count [1-9]/);
    expect(metrics.body).toMatch(/portwarden_active_connections\{listener="cache"\} 0/);
    const listeners = await api.app.inject({ url: '/api/v1/listeners', headers: auth('viewer') });
    expect(listeners.json()).toMatchObject({
      listeners: [
        { name: 'cache', audit_only: true, active: 0 },
        { name: 'locked', policy: 'nobody', audit_only: false },
      ],
    });
  });

  it('proves a record against a signed checkpoint with a bundle that verifies offline', async () => {
    gw.gateway.checkpointer.checkpointNow();
    const res = await api.app.inject({ url: '/api/v1/events/1/proof', headers: auth('auditor') });
    const body = res.json<{
      available: boolean;
      proof: { bundle: unknown; checkpoint: unknown; path: string[] };
    }>();
    expect(body.available).toBe(true);
    expect(body.proof.checkpoint).not.toBeNull();
    expect(verifyBundle(body.proof.bundle)).toMatchObject({ ok: true });
    const verify = await api.app.inject({
      method: 'POST',
      url: '/api/v1/integrity/verify',
      headers: auth('auditor'),
    });
    expect(verify.json()).toMatchObject({ ok: true });
    const status = await api.app.inject({ url: '/api/v1/integrity', headers: auth('viewer') });
    expect(status.json()).toMatchObject({
      last_verify: { ok: true },
      latest_checkpoint: { size: expect.any(Number) as number },
    });
  });

  it('serves the OpenAPI document with every documented route in it', async () => {
    const res = await api.app.inject({ url: '/api/v1/openapi.json' });
    const doc = res.json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>();
    expect(doc.openapi).toMatch(/^3\./);
    const documented = api.routes.filter((r) => r.documented);
    expect(documented.length).toBeGreaterThanOrEqual(20);
    for (const r of documented) {
      const path = r.url.replace(/:(\w+)/g, '{$1}');
      expect(Object.keys(doc.paths[path] ?? {}), `${r.method} ${path}`).toContain(
        r.method.toLowerCase(),
      );
    }
  });

  it('serves the dashboard with a strict CSP, and 404s unknown API paths as JSON', async () => {
    const page = await api.app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
    const escape = await api.app.inject({ url: '/..%2f..%2fetc%2fpasswd' });
    expect(escape.body).not.toContain('root:');
    const unknown = await api.app.inject({ url: '/api/v1/nope', headers: auth('viewer') });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json<{ error: { code: string } }>().error.code).toBe('PW_ERR_NOT_FOUND');
  });
});

describe('live tail (SSE)', () => {
  it('streams a new matching connection as it commits', async () => {
    const bound = await api.listen();
    const received = new Promise<string>((resolve, reject) => {
      const req = http.get(
        {
          host: '127.0.0.1',
          port: bound.port,
          path: '/api/v1/live?action=connection-open&listener=cache',
          headers: auth('viewer'),
        },
        (res) => {
          expect(res.headers['content-type']).toMatch(/text\/event-stream/);
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            text += chunk;
            if (text.includes('event: record')) {
              req.destroy();
              resolve(text);
            }
          });
          // The stream is open: make the connection it should show.
          void connectOnce(gw.port('cache'));
        },
      );
      req.on('error', (err) => {
        if (!('code' in err) || err.code !== 'ECONNRESET') reject(err);
      });
    });
    const text = await received;
    const data = /data: (.*)\n/.exec(text)?.[1] ?? '{}';
    expect(JSON.parse(data)).toMatchObject({ action: 'connection-open', listener: 'cache' });
  });
});
