/**
 * The syslog sink over TCP against a local receiver that is stopped mid-stream and
 * restarted (issue 8): after de-duplication by the record id in the structured data, every
 * record arrives exactly once, none missing, first arrivals in commit order. The receiver
 * first stalls (stops reading, so frames the sink wrote sit unread in its socket), then is
 * stopped (those frames are lost with the connection), then comes back on the same port.
 * A second case runs the same through a gateway's `records.sinks` with real Redis traffic.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { startMonitoring, type Monitoring } from '../../src/detect/index.js';
import { silentLogger } from '../../src/log.js';
import { sinkSchema, type SyslogSinkConfig } from '../../src/sinks/schema.js';
import {
  SyslogStreamTransport,
  createSink,
  formatSyslog,
  octetCountingFrame,
} from '../../src/sinks/index.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { until } from '../helpers/wait.js';

interface Arrival {
  readonly id: string;
  readonly sequence: number;
  readonly node: string;
}

/**
 * A syslog receiver: splits RFC 6587 octet-counted frames per connection and reads the
 * portwarden structured data. `stall()` stops reading (new connections too), `stop()`
 * drops every connection and stops listening, `start()` listens again on the same port.
 */
class Receiver {
  readonly arrivals: Arrival[] = [];
  port = 0;
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  private stalled = false;

  async start(): Promise<void> {
    this.stalled = false;
    const server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  stall(): void {
    this.stalled = true;
    for (const s of this.sockets) s.pause();
  }

  /** Drop every connection (unread data is lost) but keep listening. */
  dropConnections(): void {
    this.stalled = false;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    if (this.stalled) socket.pause();
    let buffer = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const space = buffer.indexOf(0x20);
        if (space < 0) break;
        const length = Number(buffer.subarray(0, space).toString('ascii'));
        if (space + 1 + length > buffer.length) break;
        const message = buffer.subarray(space + 1, space + 1 + length).toString('utf8');
        buffer = buffer.subarray(space + 1 + length);
        const sd = /\[portwarden@32473 id="([^"]+)" sequence="(\d+)" node="([^"]+)"/.exec(message);
        if (sd) this.arrivals.push({ id: sd[1] ?? '', sequence: Number(sd[2]), node: sd[3] ?? '' });
      }
    });
  }

  /** The first arrival of each id, in arrival order (de-duplication by id). */
  firstArrivals(): Arrival[] {
    const seen = new Set<string>();
    const first: Arrival[] = [];
    for (const a of this.arrivals) {
      if (seen.has(a.id)) continue;
      seen.add(a.id);
      first.push(a);
    }
    return first;
  }
}

function record(n: number): JsonObject {
  return {
    '@timestamp': '2026-11-23T10:15:02.123456789Z',
    event: { id: `0193-rec-${n}`, sequence: n, action: 'db-query', kind: 'event' },
    observer: { id: 'node-a', hostname: 'gw1' },
    db: { query: { text: `select ${n}` } },
  };
}

let dataDir: string;
let receiver: Receiver;
beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pw-syslog-'));
  receiver = new Receiver();
  await receiver.start();
});
afterEach(async () => {
  await receiver.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('syslog over TCP across a receiver stop and restart', () => {
  it('delivers every record exactly once after de-duplication by id, none missing', async () => {
    const config = sinkSchema.parse({
      name: 'siem',
      type: 'syslog',
      transport: 'tcp',
      address: `127.0.0.1:${receiver.port}`,
      retry_attempts: 2,
      retry_backoff: '20ms',
      replay_interval: '50ms',
      timeout: '300ms',
      resend_window: 64,
      dedup_window: 0,
    }) as SyslogSinkConfig;
    const transport = new SyslogStreamTransport(config, (r) =>
      octetCountingFrame(formatSyslog(r, { facility: 13, appName: 'portwarden' })),
    );
    const sink = createSink(config, dataDir, silentLogger(), transport);
    try {
      // Up: the first hundred arrive.
      for (let n = 0; n < 100; n++) sink.send(record(n));
      await until(() => receiver.firstArrivals().length === 100);
      // The receiver stops reading, then drops its connections but keeps listening: what
      // the sink wrote meanwhile is lost with them and written again on a new connection.
      receiver.stall();
      // (36 + 20 records since the last confirmation: below resend_window, so written.)
      for (let n = 100; n < 120; n++) sink.send(record(n));
      await until(() => sink.stats().delivered >= 120);
      receiver.dropConnections();
      for (let n = 120; n < 200; n++) sink.send(record(n));
      await until(() => receiver.firstArrivals().length === 200);
      expect(transport.resent).toBeGreaterThan(0);
      // Stalled again: the sink cannot confirm what it wrote and keeps it.
      receiver.stall();
      for (let n = 200; n < 280; n++) sink.send(record(n));
      await until(() => sink.stats().failures > 0);
      // Stopped: what sat unread is gone with the connection; records spill.
      await receiver.stop();
      for (let n = 280; n < 320; n++) sink.send(record(n));
      await until(() => sink.stats().spilled > 0 && sink.stats().queued === 0);
      // Back on the same port, and more records.
      await receiver.start();
      for (let n = 320; n < 400; n++) sink.send(record(n));
      await until(() => receiver.firstArrivals().length === 400, 20_000);
      await sink.flush();

      const first = receiver.firstArrivals();
      expect(first.map((a) => a.sequence)).toEqual(Array.from({ length: 400 }, (_, n) => n));
      expect(first.every((a) => a.id === `0193-rec-${a.sequence}` && a.node === 'node-a')).toBe(
        true,
      );
      // Frames were really lost on the way (the sink wrote more than arrived), yet no
      // record is missing.
      expect(sink.stats().delivered + transport.resent).toBeGreaterThan(receiver.arrivals.length);
    } finally {
      await sink.close();
    }
    // Closed cleanly with the receiver up: nothing left to spill.
    expect(sink.stats().spilled).toBe(0);
  });

  it('confirms every resend_window records by ending the connection', async () => {
    const config = sinkSchema.parse({
      name: 'siem',
      type: 'syslog',
      transport: 'tcp',
      address: `127.0.0.1:${receiver.port}`,
      resend_window: 10,
      timeout: '2s',
    }) as SyslogSinkConfig;
    const transport = new SyslogStreamTransport(config, (r) =>
      octetCountingFrame(formatSyslog(r, { facility: 13, appName: 'portwarden' })),
    );
    const sink = createSink(config, dataDir, silentLogger(), transport);
    for (let n = 0; n < 35; n++) sink.send(record(n));
    await until(() => receiver.arrivals.length === 35);
    await sink.close();
    // 10, 20, 30, and the close: each connection ended and the receiver closed after it.
    expect(transport.confirmations).toBe(4);
    expect(transport.resent).toBe(0);
    expect(receiver.arrivals.map((a) => a.sequence)).toEqual(
      Array.from({ length: 35 }, (_, n) => n),
    );
  });
  it('spills what the receiver did not confirm at shutdown, in order, and the next start sends it', async () => {
    const config = sinkSchema.parse({
      name: 'siem',
      type: 'syslog',
      transport: 'tcp',
      address: `127.0.0.1:${receiver.port}`,
      replay_interval: '50ms',
      timeout: '300ms',
      resend_window: 64,
    }) as SyslogSinkConfig;
    const first = createSink(config, dataDir, silentLogger());
    for (let n = 0; n < 30; n++) first.send(record(n));
    await until(() => receiver.arrivals.length === 30);
    receiver.stall();
    for (let n = 30; n < 50; n++) first.send(record(n));
    await until(() => first.stats().delivered === 50);
    // The stalled receiver cannot confirm: all 50 since the last confirmation are kept.
    await first.close();
    const spilled = readFileSync(join(dataDir, 'spill', 'siem.ndjson'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { event: { sequence: number } }).event.sequence);
    expect(spilled).toEqual(Array.from({ length: 50 }, (_, n) => n));
    await receiver.stop();
    await receiver.start();
    const second = createSink(config, dataDir, silentLogger());
    try {
      await until(() => receiver.firstArrivals().length === 50);
      expect(receiver.firstArrivals().map((a) => a.sequence)).toEqual(
        Array.from({ length: 50 }, (_, n) => n),
      );
    } finally {
      await second.close();
    }
  });
});

describe('records.sinks to syslog over TCP through a gateway', () => {
  let gw: TestGateway | null = null;
  let monitoring: Monitoring | null = null;
  afterAll(async () => {
    await monitoring?.stop();
    await gw?.stop();
  });

  it('every committed record arrives once after de-duplication across a receiver restart', async () => {
    gw = await startGateway({
      listeners: [
        { name: 'r', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
      ],
      extra: {
        detectors: { enabled: false },
        sinks: [
          {
            name: 'siem',
            type: 'syslog',
            transport: 'tcp',
            address: `127.0.0.1:${receiver.port}`,
            retry_attempts: 1,
            retry_backoff: 20,
            replay_interval: 50,
            timeout: 500,
            resend_window: 20,
          },
        ],
        records: { sinks: ['siem'] },
      },
    });
    monitoring = await startMonitoring(gw.gateway);
    const session = async (i: number): Promise<void> => {
      const s = net.connect(gw?.port('r') ?? 0, '127.0.0.1');
      await new Promise((r) => s.on('connect', r));
      s.write(`SET syslog:${i} v\r\nGET syslog:${i}\r\n`);
      let seen = '';
      await new Promise<void>((resolve) =>
        s.on('data', (c: Buffer) => {
          seen += c.toString('latin1');
          if (seen.split('\r\n').length > 2) resolve();
        }),
      );
      s.end();
      await new Promise((r) => s.on('close', r));
    };
    for (let i = 0; i < 5; i++) await session(i);
    await until(() => receiver.firstArrivals().length >= 20);
    await receiver.stop();
    for (let i = 5; i < 10; i++) await session(i);
    await receiver.start();
    for (let i = 10; i < 15; i++) await session(i);
    const committed = await gw.waitForEvents(
      (e) =>
        e.filter((x) => (x.event as { action: string }).action === 'connection-close').length ===
        15,
    );
    const ids = committed.map((e) => (e.event as { id: string }).id);
    await until(() => ids.every((id) => receiver.firstArrivals().some((a) => a.id === id)));
    const first = receiver.firstArrivals().filter((a) => ids.includes(a.id));
    expect(first.map((a) => a.id)).toEqual(ids);
    expect(first.every((a) => a.node === 'test-node')).toBe(true);
  });
});
