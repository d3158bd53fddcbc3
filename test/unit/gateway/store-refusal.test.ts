/**
 * Refusals while the audit store is unavailable, below the gateway: each protocol's answer to
 * a new connection (fed whole, byte by byte, and hostile), and the Redis transaction whose
 * EXEC is refused for the store — DISCARD still goes upstream, so the server does not keep
 * the connection inside MULTI.
 */
import { describe, expect, it } from 'vitest';
import type { ActionFacts, Decision } from '../../../src/policy/action.js';
import {
  isStoreRefusal,
  storeRefusal,
  storeRefusalFor,
  type ConnectionRefusalFactory,
} from '../../../src/protocols/index.js';
import { createRedisSession } from '../../../src/protocols/redis/index.js';
import { fe } from '../../helpers/pg-builder.js';
import { redisFakeContext } from '../../helpers/redis-fake-context.js';
import * as R from '../../helpers/redis-resp.js';

interface Talk {
  readonly sent: Buffer[];
  done: number;
  tls: number;
  feed(...chunks: Buffer[]): void;
  text(): string;
}

function talk(protocol: string, options: { tls?: boolean } = {}): Talk {
  const factory: ConnectionRefusalFactory | null = storeRefusalFor(protocol);
  if (factory === null) throw new Error(`no refusal for ${protocol}`);
  const t: Talk = {
    sent: [],
    done: 0,
    tls: 0,
    feed: (...chunks) => {
      for (const c of chunks) refusal.onClientData(c);
    },
    text: () => Buffer.concat(t.sent).toString('latin1'),
  };
  const refusal = factory({
    toClient: (b) => t.sent.push(b),
    done: () => t.done++,
    ...(options.tls ? { startClientTls: () => t.tls++ } : {}),
  });
  refusal.start();
  return t;
}

const bytes = (b: Buffer): Buffer[] => [...b].map((x) => Buffer.from([x]));

describe('store refusal decisions', () => {
  it('only the gateway’s refusal counts, never a policy rule with the same reason', () => {
    expect(isStoreRefusal(storeRefusal('sha256:x'))).toBe(true);
    expect(storeRefusal('sha256:x')).toEqual({
      verdict: 'deny',
      reason: 'store-unavailable',
      policyVersion: 'sha256:x',
    });
    expect(isStoreRefusal({ verdict: 'deny', reason: 'store-unavailable', ruleId: 'r' })).toBe(
      false,
    );
    expect(isStoreRefusal({ verdict: 'allow', reason: 'store-unavailable' })).toBe(false);
  });

  it('tcp and tls have no native refusal', () => {
    expect(storeRefusalFor('tcp')).toBeNull();
    expect(storeRefusalFor('tls')).toBeNull();
  });
});

describe('PostgreSQL: a new connection', () => {
  it('SSLRequest → N, then the StartupMessage → FATAL 57P03, fed byte by byte', () => {
    const t = talk('postgres');
    t.feed(...bytes(fe.sslRequest()));
    expect(t.text()).toBe('N');
    t.feed(...bytes(fe.startup({ user: 'app', database: 'db' })));
    expect(t.done).toBe(1);
    const error = t.sent[1] ?? Buffer.alloc(0);
    expect(error[0]).toBe(0x45); // 'E'
    expect(error.toString('latin1')).toContain('SFATAL\0');
    expect(error.toString('latin1')).toContain('C57P03\0');
    expect(error.toString('latin1')).toContain('the audit store is unavailable');
  });

  it('with TLS: SSLRequest → S and TLS starts; clear bytes after it end the talk unanswered', () => {
    const t = talk('postgres', { tls: true });
    t.feed(fe.sslRequest());
    expect(t.text()).toBe('S');
    expect(t.tls).toBe(1);
    const u = talk('postgres', { tls: true });
    u.feed(Buffer.concat([fe.sslRequest(), fe.startup({ user: 'x' })]));
    expect(u.sent).toHaveLength(0);
    expect(u.done).toBe(1);
    expect(u.tls).toBe(0);
  });

  it('a CancelRequest, a 2 GiB length or an unknown version: closed without an answer', () => {
    const cancel = Buffer.alloc(16);
    cancel.writeInt32BE(16, 0);
    cancel.writeInt32BE(80877102, 4);
    const huge = Buffer.from([0x7f, 0xff, 0xff, 0xff, 0, 3, 0, 0]);
    const version = Buffer.from([0, 0, 0, 8, 0, 9, 0, 0]);
    for (const start of [cancel, huge, version]) {
      const t = talk('postgres');
      t.feed(start, Buffer.alloc(1000, 1));
      expect(t.sent).toHaveLength(0);
      expect(t.done).toBe(1);
    }
  });
});

describe('MySQL: a new connection', () => {
  it('ERR 1040 in place of the greeting, at once, without SQLSTATE', () => {
    const t = talk('mysql');
    expect(t.done).toBe(1);
    const packet = t.sent[0] ?? Buffer.alloc(0);
    expect(packet.readUIntLE(0, 3)).toBe(packet.length - 4);
    expect(packet[3]).toBe(0); // sequence id 0: the server's first packet
    expect(packet[4]).toBe(0xff);
    expect(packet.readUInt16LE(5)).toBe(1040);
    expect(packet[7]).not.toBe(0x23); // no '#SQLSTATE' before CLIENT_PROTOCOL_41
    expect(packet.toString('utf8', 7)).toMatch(/^portwarden: the audit store is unavailable/);
    t.feed(Buffer.alloc(100, 7));
    expect(t.sent).toHaveLength(1);
  });
});

describe('Redis: a new connection', () => {
  it('answers once the first line is in, once', () => {
    const t = talk('redis');
    t.feed(Buffer.from('*1\r'));
    expect(t.sent).toHaveLength(0);
    t.feed(Buffer.from('\n$4\r\nPING\r\n'), R.command('PING'));
    expect(t.text()).toBe(
      '-ERR audit store unavailable: portwarden refuses new connections until it can record them; retry later\r\n',
    );
    expect(t.done).toBe(1);
  });

  it('64 KiB without a line end are answered too; a TLS first byte starts TLS', () => {
    const t = talk('redis');
    for (let i = 0; i < 16; i++) t.feed(Buffer.alloc(4096, 0x61));
    expect(t.done).toBe(1);
    const secure = talk('redis', { tls: true });
    secure.feed(Buffer.from([0x16, 3, 1, 0, 5]));
    expect(secure.tls).toBe(1);
    expect(secure.sent).toHaveLength(0);
  });
});

describe('HTTP: a new connection', () => {
  it('503 + Retry-After + Connection: close once the head is complete; HEAD gets no body', () => {
    const t = talk('http');
    t.feed(Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n'));
    expect(t.sent).toHaveLength(0);
    t.feed(Buffer.from('\r\n'));
    const answer = t.text();
    expect(answer).toMatch(/^HTTP\/1\.1 503 Service Unavailable\r\n/);
    expect(answer).toContain('\r\nRetry-After: 5\r\n');
    expect(answer).toContain('\r\nConnection: close\r\n');
    expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
      reason: 'store-unavailable',
    });
    const head = talk('http');
    head.feed(Buffer.from('HEAD / HTTP/1.1\r\nHost: x\r\n\r\n'));
    expect(head.text().endsWith('\r\n\r\n')).toBe(true);
  });

  it('a head that never ends is answered at 16 KiB', () => {
    const t = talk('http');
    t.feed(Buffer.from('GET / HTTP/1.1\r\n'));
    for (let i = 0; i < 8; i++) t.feed(Buffer.alloc(4096, 0x61));
    expect(t.done).toBe(1);
    expect(t.text()).toMatch(/^HTTP\/1\.1 503 /);
  });
});

describe('Redis: EXEC refused for the store inside MULTI', () => {
  it('DISCARD goes upstream in its place; the client gets -EXECABORT naming the store', () => {
    let failing = false;
    const decide = (_action: ActionFacts): Decision =>
      failing ? storeRefusal() : { verdict: 'allow', reason: 'allowed' };
    const ctx = redisFakeContext({ decide });
    const session = createRedisSession(ctx);
    session.onClientData(R.command('MULTI'));
    session.onServerData(R.simple('OK'));
    failing = true;
    session.onClientData(R.join(R.command('SET', 'k', 'v'), R.command('EXEC')));
    expect(ctx.upstreamText()).toBe(R.join(R.command('MULTI'), R.command('DISCARD')).toString());
    session.onServerData(R.simple('OK'));
    expect(ctx.clientText()).toBe(
      '+OK\r\n' +
        "-ERR audit store unavailable: portwarden could not record 'set', so it was not run; retry later\r\n" +
        '-EXECABORT Transaction discarded: the audit store is unavailable, so portwarden could not record it; retry later\r\n',
    );
    const commands = ctx.inputs('redis-command');
    expect(commands.map((c) => c.event.reason)).toEqual([
      'allowed',
      'store-unavailable',
      'store-unavailable',
    ]);
    const replies = ctx.inputs('redis-reply');
    expect(replies.at(-1)?.event).toMatchObject({
      outcome: 'failure',
      reason: 'transaction discarded: store-unavailable',
    });
    // Out of MULTI: the next command is an ordinary one again.
    failing = false;
    session.onClientData(R.command('GET', 'k'));
    expect(ctx.upstreamText()).toBe(
      R.join(R.command('MULTI'), R.command('DISCARD'), R.command('GET', 'k')).toString(),
    );
  });
});
