/**
 * Detectors on a real gateway: real TCP connections through listeners (relayed to the local
 * Redis), connections refused by policy, and a trap port. Each detector fires exactly where
 * the sequence makes it anomalous; the anomaly records reach a webhook receiver once each.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { startMonitoring, type Monitoring } from '../../src/detect/index.js';
import { silentLogger } from '../../src/log.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';

let gw: TestGateway;
let monitoring: Monitoring;
let receiver: http.Server;
const received: JsonObject[] = [];

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push(JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonObject);
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const hookPort = (receiver.address() as AddressInfo).port;
  gw = await startGateway({
    listeners: [
      { name: 'a', listen: '127.0.0.1:0', target: '127.0.0.1:6379' },
      { name: 'locked', listen: '127.0.0.1:0', target: '127.0.0.1:6379', policy: 'closed' },
    ],
    policies: { closed: { default: 'deny' } },
    extra: {
      traps: [{ name: 'trap-telnet', listen: '127.0.0.1:0' }],
      detectors: {
        learning: 0,
        cooldown: '1h',
        port_scan: { listeners: 3, traps: 1, window: '1m' },
        denial_burst: { threshold: 3, window: '1m' },
        off_hours: { enabled: false },
        volume: { enabled: false },
        new_statement_class: { enabled: false },
      },
      sinks: [
        {
          name: 'hook',
          type: 'webhook',
          url: `http://127.0.0.1:${hookPort}/`,
          replay_interval: '100ms',
        },
      ],
    },
  });
  monitoring = await startMonitoring(gw.gateway, silentLogger());
});

afterAll(async () => {
  await monitoring.stop();
  await gw.stop();
  await new Promise((r) => receiver.close(r));
});

/** Connect, optionally send a line and read the answer, then close; resolves when closed. */
function touch(port: number, send?: string): Promise<string> {
  return new Promise((resolve) => {
    let answer = '';
    const s = net.connect(port, '127.0.0.1', () => {
      if (send === undefined) s.end();
      else s.write(send);
    });
    s.on('data', (d: Buffer) => {
      answer += d.toString('utf8');
      s.end();
    });
    s.on('error', () => undefined);
    s.on('close', () => resolve(answer));
  });
}

function anomalies(): JsonObject[] {
  return gw.events().filter((e) => String(field(e, 'event.action')).startsWith('anomaly-'));
}

describe('detectors through the gateway', () => {
  it('new access, a burst of denials and a trap touch each fire once, at the right record', async () => {
    expect(await touch(gw.port('a'), 'PING\r\n')).toBe('+PONG\r\n');
    await gw.waitForEvents(() => anomalies().length === 1);
    const [newAccess] = anomalies();
    expect(newAccess).toMatchObject({
      event: { action: 'anomaly-new-access', kind: 'alert', severity: 47 },
      alert: { key: '127.0.0.1|a|-' },
      listener: { name: 'a' },
    });
    const behind = (field(newAccess ?? {}, 'related.events') as string[])[0];
    expect(gw.events().find((e) => field(e, 'event.id') === behind)).toMatchObject({
      event: { action: 'connection-close' },
    });

    // The same access again is the baseline now: nothing new.
    await touch(gw.port('a'), 'PING\r\n');
    await gw.waitForEvents((evs) => byAction(evs, 'connection-close').length === 2);

    // Three connections refused by policy: the third is a burst.
    for (let i = 0; i < 2; i++) await touch(gw.port('locked'));
    await gw.waitForEvents(
      (evs) =>
        byAction(evs, 'connection-open').filter((e) => field(e, 'event.outcome') === 'failure')
          .length === 2,
    );
    expect(anomalies()).toHaveLength(1);
    await touch(gw.port('locked'));
    await gw.waitForEvents(() => anomalies().length === 2);
    const burst = anomalies()[1];
    expect(burst).toMatchObject({
      event: { action: 'anomaly-denial-burst', severity: 73 },
      source: { ip: '127.0.0.1' },
    });
    expect(field(burst ?? {}, 'related.events')).toHaveLength(3);

    // One touch of a trap port is a scan.
    const trapPort = monitoring.traps[0]?.address().port ?? 0;
    expect(await touch(trapPort, 'hello\r\n')).toBe('');
    await gw.waitForEvents(() => anomalies().length === 3);
    const trapOpen = gw.events().find((e) => field(e, 'listener.name') === 'trap-telnet');
    expect(trapOpen).toMatchObject({
      event: { action: 'connection-open', outcome: 'failure', reason: 'trap' },
      listener: { protocol: 'trap' },
      destination: { port: trapPort },
    });
    expect(anomalies()[2]).toMatchObject({
      event: { action: 'anomaly-port-scan' },
      alert: { facts: { traps: ['trap-telnet'] } },
    });

    // Every alert reaches the webhook exactly once, and nothing else does.
    const deadline = Date.now() + 10_000;
    while (received.length < 3 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    expect(received.map((r) => field(r, 'event.id'))).toEqual(
      anomalies().map((a) => field(a, 'event.id')),
    );
    expect(anomalies()).toHaveLength(3);
  });
});
