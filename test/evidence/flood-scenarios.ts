/**
 * Floods and slow clients against an in-process gateway, shared by the CI test and the soak
 * test (which runs them bigger): connection floods past the limits, idle connections by the
 * thousand, silent clients, and clients that never read while the target streams.
 */
import net from 'node:net';
import { until as waitUntil } from '../helpers/wait.js';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export function until(what: string, pred: () => boolean, timeoutMs = 20_000): Promise<void> {
  return waitUntil(pred, timeoutMs, what);
}

/** Open a connection (optionally from another loopback address); resolves once connected. */
export function connect(port: number, localAddress?: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** A Redis PING through `port`; resolves with the reply text. */
export async function ping(port: number, localAddress?: string): Promise<string> {
  const s = await connect(port, localAddress);
  return new Promise((resolve, reject) => {
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString('latin1');
      if (buf.endsWith('\r\n')) {
        s.destroy();
        resolve(buf.trim());
      }
    });
    s.on('error', reject);
    s.on('close', () => resolve(buf.trim()));
    s.write('PING\r\n');
  });
}

/** Open `count` connections in batches; each stays open and silent. */
export async function openMany(port: number, count: number): Promise<net.Socket[]> {
  const out: net.Socket[] = [];
  for (let i = 0; i < count; i += 200) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(200, count - i) }, () => connect(port)),
    );
    for (const s of batch) s.on('error', () => undefined);
    out.push(...batch);
  }
  return out;
}

/** A target that holds every connection and counts them. */
export async function holdServer(): Promise<{
  port: number;
  held: () => number;
  close: () => Promise<void>;
}> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    port: addr !== null && typeof addr === 'object' ? addr.port : 0,
    held: () => sockets.size,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/**
 * A target that streams `total` bytes to each connection as fast as the socket takes them
 * (it waits for 'drain'), so how much it wrote shows how far backpressure reached.
 */
export async function streamServer(
  total: number,
): Promise<{ port: number; written: () => number; close: () => Promise<void> }> {
  let written = 0;
  const sockets = new Set<net.Socket>();
  const chunk = Buffer.alloc(64 * 1024, 0x61);
  const server = net.createServer((s) => {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => sockets.delete(s));
    let sent = 0;
    const pump = (): void => {
      while (sent < total && !s.destroyed) {
        sent += chunk.length;
        written += chunk.length;
        if (!s.write(chunk)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  return {
    port: addr !== null && typeof addr === 'object' ? addr.port : 0,
    written: () => written,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

/** A PostgreSQL startup message and a simple Query, built by hand (protocol-message-formats). */
export function pgStartupAndQuery(sql: string): Buffer {
  const params = Buffer.from('user\0postgres\0database\0test\0\0', 'latin1');
  const startup = Buffer.alloc(8);
  startup.writeInt32BE(8 + params.length, 0);
  startup.writeInt32BE(196608, 4);
  const text = Buffer.from(`${sql}\0`, 'utf8');
  const query = Buffer.alloc(5);
  query.write('Q', 0, 'latin1');
  query.writeInt32BE(4 + text.length, 1);
  return Buffer.concat([startup, params, query, text]);
}
