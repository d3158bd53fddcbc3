import { describe, expect, it } from 'vitest';
import type { ActionFacts, Decision } from '../../../src/policy/action.js';
import { createHttpSession } from '../../../src/protocols/http/index.js';
import {
  chunkedBody,
  request,
  requestWithBody,
  response,
  splits,
} from '../../helpers/http-builder.js';
import { fakeSessionContext } from '../../helpers/fake-session-context.js';
import type { FakeSessionOptions } from '../../helpers/fake-session-context.js';

const host: [string, string] = ['Host', 'api.internal:8080'];

function open(options: FakeSessionOptions = {}) {
  const ctx = fakeSessionContext(options);
  return { ctx, session: createHttpSession(ctx) };
}

const denyAdmin = (a: ActionFacts): Decision =>
  a.protocol === 'http' && a.path.startsWith('/admin')
    ? { verdict: 'deny', ruleId: 'no-admin', reason: 'rule no-admin', policyVersion: 'sha256:1' }
    : { verdict: 'allow', ruleId: 'open', reason: 'rule open' };

function field(record: object, path: string): unknown {
  let v: unknown = record;
  for (const k of path.split('.'))
    v = typeof v === 'object' && v !== null ? (v as Record<string, unknown>)[k] : undefined;
  return v;
}

describe('HTTP session', () => {
  it('records, forwards unchanged, and records the outcome with bytes and duration', () => {
    const req = requestWithBody(
      'POST',
      '/orders?id=7&token=s3cret',
      [host, ['User-Agent', 'curl/8.5']],
      'abc',
    );
    const { ctx, session } = open();
    session.onClientData(req);
    expect(ctx.upstreamText()).toBe(req.toString('latin1'));
    const [r] = ctx.actions('http-request');
    expect(r).toBeDefined();
    expect(r?.event).toMatchObject({
      category: ['web'],
      type: ['access', 'allowed'],
      outcome: 'success',
    });
    expect(field(r ?? {}, 'http.request.method')).toBe('POST');
    expect(field(r ?? {}, 'url.path')).toBe('/orders');
    expect(field(r ?? {}, 'url.query')).toBe('id=7&token=REDACTED');
    expect(field(r ?? {}, 'url.domain')).toBe('api.internal');
    expect(field(r ?? {}, 'url.port')).toBe(8080);
    expect(field(r ?? {}, 'user_agent.original')).toBe('curl/8.5');
    expect(ctx.decisions).toEqual([
      { protocol: 'http', method: 'POST', path: '/orders', host: 'api.internal' },
    ]);
    const res = response(200, 'OK', [['Content-Length', '4']], 'done');
    session.onServerData(res);
    expect(ctx.clientText()).toBe(res.toString('latin1'));
    const [o] = ctx.actions('http-response');
    expect(o?.event).toMatchObject({ reference: r?.id, outcome: 'success', category: ['web'] });
    expect(o?.event.duration).toBeGreaterThan(0);
    expect(field(o ?? {}, 'http.response.status_code')).toBe(200);
    expect(field(o ?? {}, 'http.response.body.bytes')).toBe(4);
    expect(field(o ?? {}, 'http.request.body.bytes')).toBe(3);
  });

  it('gives the same records and bytes however the client stream is chunked', () => {
    const stream = Buffer.concat([
      request('GET', '/a', [host]),
      request(
        'POST',
        '/admin/x',
        [host, ['Transfer-Encoding', 'chunked']],
        chunkedBody(['secret body']),
      ),
      requestWithBody('PUT', '/b', [host], 'zz'),
    ]);
    let reference: { upstream: string; actions: unknown[] } | undefined;
    for (const { name, pieces } of splits(stream)) {
      const { ctx, session } = open({ decide: denyAdmin });
      for (const p of pieces) session.onClientData(p);
      const seen = {
        upstream: ctx.upstreamText(),
        actions: ctx.records.map((r) => [r.event.action, field(r, 'url.path')]),
      };
      reference ??= seen;
      expect(seen, name).toEqual(reference);
    }
    expect(reference?.upstream).not.toContain('secret body');
    expect(reference?.upstream).not.toContain('/admin');
  });

  it('answers a denied request with a 403 in its pipeline place and drops its body', () => {
    const { ctx, session } = open({ decide: denyAdmin });
    const a = request('GET', '/a', [host]);
    const denied = requestWithBody('POST', '/admin/users', [host], 'payload');
    const c = request('GET', '/c', [host]);
    session.onClientData(Buffer.concat([a, denied, c]));
    expect(ctx.upstreamText()).toBe(Buffer.concat([a, c]).toString('latin1'));
    expect(ctx.client).toHaveLength(0);
    const resA = response(200, 'OK', [['Content-Length', '1']], 'A');
    const resC = response(200, 'OK', [['Content-Length', '1']], 'C');
    session.onServerData(resA);
    const text = ctx.clientText();
    expect(text.startsWith(resA.toString('latin1'))).toBe(true);
    const denial = text.slice(resA.length);
    expect(denial).toMatch(/^HTTP\/1\.1 403 Forbidden\r\n/);
    expect(denial).toContain('Content-Type: application/json\r\n');
    expect(denial).toContain('Connection: keep-alive\r\n');
    const body = denial.slice(denial.indexOf('\r\n\r\n') + 4);
    expect(JSON.parse(body)).toEqual({
      error: 'forbidden',
      reason: 'rule no-admin',
      rule: 'no-admin',
    });
    session.onServerData(resC);
    expect(ctx.clientText().endsWith(resC.toString('latin1'))).toBe(true);
    const reqs = ctx.actions('http-request');
    expect(reqs.map((r) => r.event.type)).toEqual([
      ['access', 'allowed'],
      ['access', 'denied'],
      ['access', 'allowed'],
    ]);
    expect(reqs[1]).toMatchObject({
      event: { outcome: 'failure' },
      rule: { id: 'no-admin' },
      policy: { version: 'sha256:1' },
    });
    const outs = ctx.actions('http-response');
    expect(
      outs.map((o) => [o.event.reference, field(o, 'http.response.status_code'), o.event.outcome]),
    ).toEqual([
      [reqs[0]?.id, 200, 'success'],
      [reqs[1]?.id, 403, 'failure'],
      [reqs[2]?.id, 200, 'success'],
    ]);
    expect(field(outs[1] ?? {}, 'http.request.body.bytes')).toBe(7);
    expect(ctx.closed).toBeNull();
  });

  it('closes after the 403 when the client asked to close', () => {
    const { ctx, session } = open({ decide: denyAdmin });
    session.onClientData(
      Buffer.concat([
        request('GET', '/admin', [host, ['Connection', 'close']]),
        request('GET', '/after', [host]),
      ]),
    );
    expect(ctx.clientText()).toContain('Connection: close\r\n');
    expect(ctx.closed).toEqual({ reason: 'policy' });
    expect(ctx.upstream).toHaveLength(0);
  });

  it('a denied HEAD gets headers without a body', () => {
    const { ctx, session } = open({ decide: denyAdmin });
    session.onClientData(request('HEAD', '/admin', [host]));
    expect(ctx.clientText().endsWith('\r\n\r\n')).toBe(true);
    expect(ctx.clientText()).toMatch(/Content-Length: [1-9]/);
  });

  it('policy sees the normalised path, so dot segments and escapes do not bypass a rule', () => {
    const { ctx, session } = open({ decide: denyAdmin });
    session.onClientData(request('GET', '/public/%2e%2E/adm%69n/x', [host]));
    expect(ctx.decisions[0]).toMatchObject({ path: '/admin/x' });
    expect(ctx.upstream).toHaveLength(0);
    expect(ctx.actions('http-request')[0]).toMatchObject({
      url: { path: '/admin/x', original_path: '/public/%2e%2E/adm%69n/x' },
    });
  });

  it('records the Basic username and a bearer JWT subject, never the credentials or cookies', () => {
    const { ctx, session } = open();
    const basic = Buffer.from('alice:pa55word').toString('base64');
    const jwt = [
      Buffer.from('{"alg":"none"}').toString('base64url'),
      Buffer.from('{"sub":"svc-orders","exp":1}').toString('base64url'),
      'sig',
    ].join('.');
    session.onClientData(
      Buffer.concat([
        request('GET', '/1', [host, ['Authorization', `Basic ${basic}`], ['Cookie', 'sid=abc123']]),
        request('GET', '/2', [host, ['Authorization', `Bearer ${jwt}`]]),
        request('GET', '/3', [host, ['Authorization', 'Bearer opaque-token-value']]),
      ]),
    );
    const [a, b, c] = ctx.actions('http-request');
    expect(a).toMatchObject({
      user: { name: 'alice', claimed: true },
      http: { request: { auth_scheme: 'basic', cookie_present: true } },
    });
    expect(b).toMatchObject({
      user: { name: 'svc-orders', claimed: true },
      http: { request: { auth_scheme: 'bearer' } },
    });
    expect(c?.['user']).toBeUndefined();
    const all = JSON.stringify(ctx.records);
    for (const secret of ['pa55word', basic, 'abc123', jwt, 'opaque-token-value'])
      expect(all).not.toContain(secret);
  });

  it('injects Forwarded, X-Forwarded-* and the request id, dropping client-sent copies', () => {
    const { ctx, session } = open({
      extra: {
        forwarded: { forwarded: true, x_forwarded: true, request_id_header: 'X-Request-Id' },
      },
    });
    const body = 'q=1';
    session.onClientData(
      requestWithBody(
        'POST',
        '/f',
        [
          host,
          ['X-Forwarded-For', '6.6.6.6'],
          ['Forwarded', 'for=6.6.6.6'],
          ['X-Request-Id', 'forged'],
          ['Accept', '*/*'],
        ],
        body,
      ),
    );
    const id = ctx.actions('http-request')[0]?.id ?? '';
    expect(ctx.upstreamText()).toBe(
      'POST /f HTTP/1.1\r\nHost: api.internal:8080\r\nAccept: */*\r\nContent-Length: 3\r\n' +
        'Forwarded: for="10.0.0.7:51234";proto=http\r\nX-Forwarded-For: 10.0.0.7\r\nX-Forwarded-Port: 8080\r\n' +
        `X-Forwarded-Proto: http\r\nX-Request-Id: ${id}\r\n\r\nq=1`,
    );
  });

  it('brackets an IPv6 client in Forwarded (RFC 7239 §6)', () => {
    const { ctx, session } = open({
      extra: { forwarded: { forwarded: true } },
      sourceIp: '2001:db8::1',
      sourcePort: 4000,
    });
    session.onClientData(request('GET', '/', [host, ['X-Forwarded-Host', 'evil']]));
    expect(ctx.upstreamText()).toBe(
      'GET / HTTP/1.1\r\nHost: api.internal:8080\r\nForwarded: for="[2001:db8::1]:4000";proto=http\r\n\r\n',
    );
  });

  it('relays a WebSocket upgrade opaquely after 101, in both directions', () => {
    const { ctx, session } = open();
    const up = request('GET', '/ws', [host, ['Connection', 'Upgrade'], ['Upgrade', 'websocket']]);
    session.onClientData(up);
    const early = Buffer.from([0x81, 0x82, 1, 2, 3, 4, 5, 6]);
    session.onClientData(early);
    expect(ctx.upstreamText()).toBe(up.toString('latin1'));
    const sw = response(101, 'Switching Protocols', [
      ['Upgrade', 'websocket'],
      ['Connection', 'Upgrade'],
    ]);
    const frame = Buffer.from([0x81, 0x02, 0x68, 0x69]);
    session.onServerData(Buffer.concat([sw, frame]));
    expect(ctx.upstreamText()).toBe(Buffer.concat([up, early]).toString('latin1'));
    session.onClientData(Buffer.from('GET /not-http HTTP/1.1\r\n\r\n'));
    expect(ctx.upstreamText().endsWith('GET /not-http HTTP/1.1\r\n\r\n')).toBe(true);
    expect(ctx.clientText()).toBe(Buffer.concat([sw, frame]).toString('latin1'));
    expect(ctx.actions('http-request')).toHaveLength(1);
    expect(ctx.actions('http-response').map((o) => field(o, 'http.response.status_code'))).toEqual([
      101,
    ]);
  });

  it('keeps parsing HTTP when the upgrade is refused', () => {
    const { ctx, session } = open();
    session.onClientData(
      request('GET', '/ws', [host, ['Connection', 'upgrade'], ['Upgrade', 'websocket']]),
    );
    session.onClientData(request('GET', '/next', [host]));
    session.onServerData(response(400, 'Bad Request', [['Content-Length', '0']]));
    expect(ctx.actions('http-request').map((r) => field(r, 'url.path'))).toEqual(['/ws', '/next']);
    expect(ctx.upstreamText()).toContain('GET /next');
  });

  it('answers malformed requests natively and closes with protocol-error', () => {
    for (const [bytes, status] of [
      [Buffer.from('GET / HTTP/1.1\r\nHost : a\r\n\r\n'), 400],
      [request('GET', '/', [host, ['X-Big', 'x'.repeat(20_000)]]), 431],
      [request('GET', '/' + 'p'.repeat(9000), [host]), 414],
      [
        request('POST', '/', [host, ['Content-Length', '1'], ['Transfer-Encoding', 'chunked']]),
        400,
      ],
    ] as const) {
      const { ctx, session } = open();
      session.onClientData(bytes);
      expect(ctx.clientText()).toMatch(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(ctx.closed?.reason).toBe('protocol-error');
      expect(ctx.upstream).toHaveLength(0);
    }
  });

  it('waits for earlier responses before answering a malformed request', () => {
    const { ctx, session } = open();
    session.onClientData(
      Buffer.concat([request('GET', '/ok', [host]), Buffer.from('BROKEN\r\n\r\n')]),
    );
    expect(ctx.client).toHaveLength(0);
    const res = response(204, 'No Content', []);
    session.onServerData(res);
    expect(ctx.clientText()).toMatch(/^HTTP\/1\.1 204 No Content\r\n\r\nHTTP\/1\.1 400 /);
    expect(ctx.closed?.reason).toBe('protocol-error');
  });

  it('answers 502 when the target sends something that is not a response', () => {
    const { ctx, session } = open();
    session.onClientData(request('GET', '/', [host]));
    session.onServerData(Buffer.from('garbage\r\n\r\n'));
    expect(ctx.clientText()).toMatch(/^HTTP\/1\.1 502 Bad Gateway/);
    expect(ctx.closed?.reason).toBe('protocol-error');
    expect(ctx.actions('http-response')[0]).toMatchObject({
      event: { outcome: 'failure' },
      http: { response: { status_code: 502 } },
    });
  });

  it('5xx outcomes are failures; an unanswered request is recorded as unknown on close', () => {
    const { ctx, session } = open();
    session.onClientData(
      Buffer.concat([request('GET', '/1', [host]), request('GET', '/2', [host])]),
    );
    session.onServerData(response(503, 'Unavailable', [['Content-Length', '0']]));
    session.onClose?.();
    const outs = ctx.actions('http-response');
    expect(outs.map((o) => o.event.outcome)).toEqual(['failure', 'unknown']);
    expect(outs[1]?.event.reason).toBe('connection closed before the response');
  });

  it('a response ended by the close is recorded with its bytes', () => {
    const { ctx, session } = open();
    session.onClientData(request('GET', '/stream', [host]));
    session.onServerData(Buffer.from('HTTP/1.1 200 OK\r\n\r\nabcdef'));
    session.onClose?.();
    const [o] = ctx.actions('http-response');
    expect(o).toMatchObject({
      event: { outcome: 'success' },
      http: { response: { status_code: 200, body: { bytes: 6 } } },
    });
  });

  it('forwards 100 Continue without recording it as the outcome', () => {
    const { ctx, session } = open();
    session.onClientData(
      request('POST', '/u', [host, ['Expect', '100-continue'], ['Content-Length', '2']]),
    );
    session.onServerData(response(100, 'Continue', []));
    session.onClientData(Buffer.from('hi'));
    session.onServerData(response(201, 'Created', [['Content-Length', '0']]));
    expect(ctx.actions('http-response').map((o) => field(o, 'http.response.status_code'))).toEqual([
      201,
    ]);
    expect(ctx.clientText()).toContain('100 Continue');
  });

  it('alert verdicts pass and mark the record as an alert', () => {
    const { ctx, session } = open({
      decide: (): Decision => ({ verdict: 'alert', reason: 'watch', ruleId: 'w' }),
    });
    session.onClientData(request('GET', '/', [host]));
    expect(ctx.upstream).toHaveLength(1);
    expect(ctx.actions('http-request')[0]?.event).toMatchObject({
      kind: 'alert',
      type: ['access', 'allowed'],
    });
  });
});
