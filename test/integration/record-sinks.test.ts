/**
 * `records.sinks`: every committed record streams to a webhook receiver. The receiver is
 * down at first and comes back later: every record arrives exactly once, in commit order.
 */
import http from 'node:http';
import net from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { startMonitoring, type Monitoring } from '../../src/detect/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { until } from '../helpers/wait.js';
import { freePort } from '../helpers/net.js';

let gw: TestGateway | null = null;
let monitoring: Monitoring | null = null;
let server: http.Server | null = null;

afterAll(async () => {
  await monitoring?.stop();
  await gw?.stop();
  server?.closeAllConnections();
  server?.close();
});

describe('live record sinks', () => {
  it('delivers every record once, in order, across a receiver outage', async () => {
    const port = await freePort();
    gw = await startGateway({
      listeners: [
        { name: 'r', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
      ],
      extra: {
        detectors: { enabled: false },
        sinks: [
          {
            name: 'soc',
            type: 'webhook',
            url: `http://127.0.0.1:${port}/records`,
            retry_attempts: 1,
            retry_backoff: 50,
            replay_interval: 200,
            timeout: 1000,
          },
        ],
        records: { sinks: ['soc'] },
      },
    });
    monitoring = await startMonitoring(gw.gateway);
    for (let i = 0; i < 5; i++) {
      const s = net.connect(gw.port('r'), '127.0.0.1');
      await new Promise((r) => s.on('connect', r));
      s.write(`SET sink:${i} v\r\n`);
      await new Promise((r) => s.once('data', r));
      s.end();
      await new Promise((r) => s.on('close', r));
    }
    const committed = await gw.waitForEvents(
      (e) =>
        e.filter((x) => (x.event as { action: string }).action === 'connection-close').length === 5,
    );
    const ids = committed.map((e) => (e.event as { id: string }).id);
    expect(ids.length).toBeGreaterThanOrEqual(20);
    const received: string[] = [];
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as {
          event: { id: string };
        };
        received.push(body.event.id);
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => server?.listen(port, '127.0.0.1', () => r()));
    await until(() => ids.every((id) => received.includes(id)));
    const firstRun = received.filter((id) => ids.includes(id));
    expect(firstRun).toEqual(ids);
    expect(new Set(received).size).toBe(received.length);
  });
});
