/**
 * The flood cases, sized by the caller (CI or soak). Each starts its own in-process gateway.
 * Memory is the test process's RSS, which includes the clients and targets too, so the
 * bounds are loose; the point is that they do not grow with the bytes or the flood.
 */
import { afterEach, expect, it } from 'vitest';
import pg from 'pg';
import { SqliteStore } from '../../src/store/index.js';
import { byAction, field, startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import {
  connect,
  holdServer,
  openMany,
  pgStartupAndQuery,
  ping,
  sleep,
  streamServer,
  until,
} from './flood-scenarios.js';

export interface FloodSizes {
  /** Idle connections held at once. */
  readonly idle: number;
  /** Connections opened by the flooder (more than perSource). */
  readonly flood: number;
  readonly perSource: number;
  /** Bytes the target tries to stream to a client that never reads. */
  readonly streamBytes: number;
}

const MiB = 1024 * 1024;

export function floodCases(sizes: FloodSizes): void {
  let gw: TestGateway | null = null;
  afterEach(async () => {
    await gw?.stop();
    gw = null;
  });

  it(`a flood of ${sizes.flood} connections from one address: ${sizes.flood - sizes.perSource} refused with reason limit, another address still served`, async () => {
    const g = (gw = await startGateway({
      listeners: [
        {
          name: 'redis',
          listen: '127.0.0.1:0',
          target: '127.0.0.1:6379',
          max_connections_per_source: sizes.perSource,
        },
      ],
    }));
    const port = g.port('redis');
    const flood = await openMany(port, sizes.flood);
    const refusedCount = sizes.flood - sizes.perSource;
    const events = await g.waitForEvents(
      (evs) =>
        byAction(evs, 'connection-open').filter((e) => field(e, 'event.reason') === 'limit')
          .length === refusedCount,
      20_000,
    );
    const opened = byAction(events, 'connection-open');
    expect(opened.filter((e) => field(e, 'event.outcome') === 'success')).toHaveLength(
      sizes.perSource,
    );
    for (const e of opened.filter((x) => field(x, 'event.reason') === 'limit')) {
      expect(field(e, 'source.ip')).toBe('127.0.0.1');
      expect(String(field(e, 'error.message'))).toMatch(/max_connections_per_source/);
    }
    // A well-behaved client from another address is served during the flood.
    expect(await ping(port, '127.0.0.2')).toBe('+PONG');
    for (const s of flood) s.destroy();
  }, 60_000);

  it('a silent client is closed by idle_timeout with reason timeout', async () => {
    const hold = await holdServer();
    try {
      const g = (gw = await startGateway({
        listeners: [
          {
            name: 'tcp',
            listen: '127.0.0.1:0',
            target: `127.0.0.1:${hold.port}`,
            idle_timeout: '1s',
          },
        ],
      }));
      const s = await connect(g.port('tcp'));
      let closed = false;
      s.on('close', () => {
        closed = true;
      });
      s.on('error', () => undefined);
      await until('the idle client to be closed', () => closed, 10_000);
      const events = await g.waitForEvents((evs) => byAction(evs, 'connection-close').length === 1);
      expect(field(byAction(events, 'connection-close')[0] ?? {}, 'event.reason')).toBe('timeout');
    } finally {
      await hold.close();
    }
  }, 30_000);

  it(`a client that never reads: the target stops at the socket buffers, gateway memory stays bounded (${sizes.streamBytes / MiB} MiB offered)`, async () => {
    const stream = await streamServer(sizes.streamBytes);
    try {
      const g = (gw = await startGateway({
        listeners: [{ name: 'tcp', listen: '127.0.0.1:0', target: `127.0.0.1:${stream.port}` }],
      }));
      const rss0 = process.memoryUsage().rss;
      const s = await connect(g.port('tcp'));
      s.pause();
      s.on('error', () => undefined);
      // Wait until the target is stuck (written stops growing), then look at memory.
      let last = -1;
      await until(
        'the target to stall',
        () => {
          const w = stream.written();
          const stalled = w > 0 && w === last;
          last = w;
          return stalled;
        },
        20_000,
      ).catch(() => undefined);
      await sleep(500);
      expect(stream.written()).toBeLessThan(Math.min(sizes.streamBytes, 64 * MiB));
      expect(process.memoryUsage().rss - rss0).toBeLessThan(96 * MiB);
      s.destroy();
    } finally {
      await stream.close();
    }
  }, 60_000);

  it('a client that never reads a large PostgreSQL result: the backend waits on ClientWrite, gateway memory bounded', async () => {
    const g = (gw = await startGateway({
      listeners: [
        { name: 'pg', listen: '127.0.0.1:0', target: '127.0.0.1:5432', protocol: 'postgres' },
      ],
    }));
    const marker = `pw-flood-${process.pid}-${Date.now()}`;
    const rss0 = process.memoryUsage().rss;
    const s = await connect(g.port('pg'));
    s.on('error', () => undefined);
    s.write(
      pgStartupAndQuery(
        `SELECT '${marker}', repeat('x', 1000) FROM generate_series(1, ${Math.ceil(sizes.streamBytes / 1000)})`,
      ),
    );
    await sleep(200);
    s.pause();
    const admin = new pg.Client({
      host: '127.0.0.1',
      port: 5432,
      user: 'postgres',
      database: 'test',
    });
    await admin.connect();
    try {
      let waitEvent = '';
      const deadline = Date.now() + 20_000;
      while (waitEvent !== 'ClientWrite' && Date.now() < deadline) {
        const r = await admin.query<{ wait_event: string | null }>(
          'SELECT wait_event FROM pg_stat_activity WHERE query LIKE $1 AND pid <> pg_backend_pid()',
          [`%${marker}%`],
        );
        waitEvent = r.rows[0]?.wait_event ?? '';
        if (waitEvent !== 'ClientWrite') await sleep(100);
      }
      expect(waitEvent).toBe('ClientWrite');
      expect(process.memoryUsage().rss - rss0).toBeLessThan(96 * MiB);
    } finally {
      s.destroy();
      await admin.end();
    }
  }, 60_000);

  it(`${sizes.idle} idle connections: bounded memory per connection, a well-behaved client still served`, async () => {
    const hold = await holdServer();
    try {
      const g = (gw = await startGateway({
        listeners: [
          {
            name: 'tcp',
            listen: '127.0.0.1:0',
            target: `127.0.0.1:${hold.port}`,
            max_connections_per_source: sizes.idle + 10,
          },
          { name: 'redis', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
        ],
      }));
      // The gateway's log writer thread boots after start: its memory is not per connection.
      if (g.gateway.store instanceof SqliteStore) await g.gateway.store.writerReady();
      const rss0 = process.memoryUsage().rss;
      const idle = await openMany(g.port('tcp'), sizes.idle);
      await until(
        `${sizes.idle} connections held at the target`,
        () => hold.held() === sizes.idle,
        60_000,
      );
      const perConnection = (process.memoryUsage().rss - rss0) / sizes.idle;
      // Client, gateway (two sockets) and target sockets all live in this process.
      expect(perConnection).toBeLessThan(64 * 1024);
      expect(await ping(g.port('redis'))).toBe('+PONG');
      for (const s of idle) s.destroy();
      await until('the idle connections to close', () => hold.held() === 0, 30_000);
    } finally {
      await hold.close();
    }
  }, 120_000);
}
