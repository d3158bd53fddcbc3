/**
 * Sinks against local receivers: a webhook receiver that is down for a while then up (every
 * alert arrives exactly once, in order), a Slack-compatible receiver, and a syslog TCP
 * receiver reading RFC 6587 octet-counted RFC 5424 frames.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { sinkSchema } from '../../src/sinks/schema.js';
import { createSink } from '../../src/sinks/index.js';
import { until } from '../helpers/wait.js';

interface Receiver {
  readonly port: number;
  readonly bodies: { headers: http.IncomingHttpHeaders; body: string }[];
  close(): Promise<void>;
}

function receive(port = 0): Promise<Receiver> {
  const bodies: Receiver['bodies'] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      bodies.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      resolve({
        port: (server.address() as AddressInfo).port,
        bodies,
        close: () =>
          new Promise<void>((done) => {
            server.closeAllConnections();
            server.close(() => done());
          }),
      });
    });
  });
}

function alert(n: number): JsonObject {
  return {
    '@timestamp': '2026-11-22T10:15:02.123456789Z',
    event: {
      id: `0193-${n}`,
      sequence: n,
      action: 'anomaly-port-scan',
      kind: 'alert',
      reason: `scan ${n}`,
    },
    alert: { severity: 'high', detector: 'port-scan' },
    source: { ip: '10.0.0.5' },
  };
}

let dataDir: string;
beforeEach(() => {
  dataDir = mkdtempSync(join(tmpdir(), 'pw-sinks-'));
});
afterEach(() => rmSync(dataDir, { recursive: true, force: true }));

describe('webhook sink', () => {
  it('delivers every alert exactly once when the receiver is down for a while', async () => {
    // Take a free port, then close it: the receiver is "down" (connection refused).
    const probe = await receive();
    const port = probe.port;
    await probe.close();
    const sink = createSink(
      sinkSchema.parse({
        name: 'hook',
        type: 'webhook',
        url: `http://127.0.0.1:${port}/alerts`,
        retry_attempts: 2,
        retry_backoff: '10ms',
        replay_interval: '50ms',
      }),
      dataDir,
    );
    for (let i = 0; i < 5; i++) sink.send(alert(i));
    await until(() => sink.stats().spilled === 5);
    expect(sink.stats().delivered).toBe(0);
    for (let i = 5; i < 8; i++) sink.send(alert(i));
    const up = await receive(port);
    try {
      await until(() => up.bodies.length >= 8 && sink.stats().spilled === 0);
      sink.send(alert(8));
      await until(() => up.bodies.length >= 9);
      await sink.flush();
      const ids = up.bodies.map((b) => (JSON.parse(b.body) as { event: { id: string } }).event.id);
      expect(ids).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8].map((n) => `0193-${n}`));
      expect(up.bodies[0]?.headers['idempotency-key']).toBe('0193-0');
      expect(up.bodies[0]?.headers['content-type']).toBe('application/json');
    } finally {
      await sink.close();
      await up.close();
    }
  });

  it('slack sink posts a text summary', async () => {
    const up = await receive();
    const sink = createSink(
      sinkSchema.parse({ name: 'chat', type: 'slack', url: `http://127.0.0.1:${up.port}/hook` }),
      dataDir,
    );
    try {
      sink.send(alert(1));
      await until(() => up.bodies.length === 1);
      expect(JSON.parse(up.bodies[0]?.body ?? '')).toEqual({
        text: '[HIGH] anomaly-port-scan source=10.0.0.5: scan 1',
      });
    } finally {
      await sink.close();
      await up.close();
    }
  });
});

describe('syslog sink over TCP', () => {
  it('sends octet-counted RFC 5424 messages a receiver can split and parse', async () => {
    let received = Buffer.alloc(0);
    const server = net.createServer((socket) => {
      socket.on('data', (chunk: Buffer) => {
        received = Buffer.concat([received, chunk]);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const sink = createSink(
      sinkSchema.parse({
        name: 'siem',
        type: 'syslog',
        transport: 'tcp',
        address: `127.0.0.1:${port}`,
      }),
      dataDir,
    );
    try {
      for (let i = 0; i < 3; i++) sink.send(alert(i));
      const frames = (): string[] => {
        const out: string[] = [];
        let at = 0;
        for (;;) {
          const space = received.indexOf(0x20, at);
          if (space < 0) break;
          const length = Number(received.subarray(at, space).toString('ascii'));
          if (space + 1 + length > received.length) break;
          out.push(received.subarray(space + 1, space + 1 + length).toString('utf8'));
          at = space + 1 + length;
        }
        return out;
      };
      await until(() => frames().length === 3);
      const messages = frames();
      expect(messages[0]).toMatch(
        /^<107>1 2026-11-22T10:15:02\.123456Z \S+ portwarden \d+ anomaly-port-scan \[portwarden@32473 id="0193-0" sequence="0" severity="high"\] \{/,
      );
      expect(
        messages.map(
          (m) =>
            (JSON.parse(m.slice(m.indexOf('] {') + 2)) as { event: { sequence: number } }).event
              .sequence,
        ),
      ).toEqual([0, 1, 2]);
    } finally {
      await sink.close();
      server.close();
    }
  });
});
