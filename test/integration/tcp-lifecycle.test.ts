/**
 * Connection lifecycle details of the tcp gateway against small servers the test owns:
 * half-close both ways, idle timeout, PROXY v2 toward the target carrying the connection id,
 * and `portwarden start` stopping on SIGTERM with every record committed.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProxyHeaderReader } from '../../src/gateway/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { waitForRecord } from '../helpers/records.js';
import { CLI, runCli } from '../helpers/cli.js';

/** A target that answers "bye <what it read>" once the client half-closes, then ends. */
let halfCloseServer: net.Server;
/** A target that reads a PROXY v2 header, then reports what it carried. */
let proxyServer: net.Server;
let gw: TestGateway;

function listen(server: net.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

beforeAll(async () => {
  halfCloseServer = net.createServer({ allowHalfOpen: true }, (sock) => {
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.on('end', () => sock.end(`bye ${got}`));
  });
  proxyServer = net.createServer((sock) => {
    const reader = new ProxyHeaderReader();
    let header: { source?: unknown; uniqueId?: string } | null = null;
    let rest = '';
    sock.on('data', (d: Buffer) => {
      if (header === null) {
        const r = reader.push(d);
        if (r.state !== 'done') return;
        header = r.header;
        rest = r.rest.toString();
      } else rest += d.toString();
      if (rest === 'payload')
        sock.end(JSON.stringify({ source: header.source, uniqueId: header.uniqueId, rest }));
    });
  });
  const halfPort = await listen(halfCloseServer);
  const proxyPort = await listen(proxyServer);
  gw = await startGateway({
    listeners: [
      { name: 'half', listen: '127.0.0.1:0', target: `127.0.0.1:${halfPort}` },
      { name: 'idle', listen: '127.0.0.1:0', target: `127.0.0.1:${halfPort}`, idle_timeout: '1s' },
      {
        name: 'pp-out',
        listen: '127.0.0.1:0',
        target: `127.0.0.1:${proxyPort}`,
        proxy_protocol_out: true,
      },
    ],
  });
});

afterAll(async () => {
  await gw.stop();
  halfCloseServer.close();
  proxyServer.close();
});

function readAll(sock: net.Socket): Promise<string> {
  return new Promise((resolve) => {
    let got = '';
    sock.on('data', (d: Buffer) => (got += d.toString()));
    sock.on('end', () => resolve(got));
  });
}

describe('tcp lifecycle', () => {
  it('relays a half-close: the client ends its side and still reads the reply', async () => {
    const sock = net.connect({ port: gw.port('half'), host: '127.0.0.1', allowHalfOpen: true });
    await new Promise((r) => sock.on('connect', r));
    const port = sock.localPort;
    const reply = readAll(sock);
    sock.end('hello');
    expect(await reply).toBe('bye hello');
    sock.end();
    const close = await waitForRecord(
      gw,
      'connection-close',
      (c) => field(c, 'source.port') === port,
    );
    expect(field(close, 'event.reason')).toBe('client-close');
    expect(field(close, 'source.bytes')).toBe(5);
    expect(field(close, 'destination.bytes')).toBe(9);
  });

  it('ends an idle connection with reason timeout', async () => {
    const sock = net.connect(gw.port('idle'), '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    const port = sock.localPort;
    await new Promise((r) => sock.on('close', r));
    const close = await waitForRecord(
      gw,
      'connection-close',
      (c) => field(c, 'source.port') === port,
    );
    expect(field(close, 'event.reason')).toBe('timeout');
  });

  it('sends a PROXY v2 header to the target with the client and the connection id', async () => {
    const sock = net.connect(gw.port('pp-out'), '127.0.0.1');
    await new Promise((r) => sock.on('connect', r));
    const port = sock.localPort;
    const reply = readAll(sock);
    sock.write('payload');
    const seen = JSON.parse(await reply) as {
      source: { ip: string; port: number };
      uniqueId: string;
      rest: string;
    };
    expect(seen.source).toEqual({ ip: '127.0.0.1', port });
    expect(seen.rest).toBe('payload');
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'connection-close').some((c) => field(c, 'source.port') === port),
    );
    const open = byAction(evs, 'connection-open').find((c) => field(c, 'source.port') === port);
    expect(seen.uniqueId).toBe(field(open ?? {}, 'connection.id'));
  });
});

describe('portwarden start', () => {
  it('stops on SIGTERM, recording the open connection as shutdown, and search shows it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-start-'));
    const halfPort = (halfCloseServer.address() as net.AddressInfo).port;
    const config = join(dir, 'portwarden.yaml');
    const listenPort = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const p = (probe.address() as net.AddressInfo).port;
        probe.close(() => resolve(p));
      });
    });
    writeFileSync(
      config,
      `node: cli-node\ndata_dir: ./data\nshutdown_timeout: 300ms\napi: { enabled: false }\nlisteners:\n  - { name: t, listen: "127.0.0.1:${listenPort}", target: "127.0.0.1:${halfPort}" }\n`,
    );
    const child = spawn(process.execPath, [CLI, 'start', '-c', config], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const deadline = Date.now() + 15_000;
    let sock: net.Socket | null = null;
    while (!sock && Date.now() < deadline) {
      sock = await new Promise<net.Socket | null>((resolve) => {
        const s = net.connect(listenPort, '127.0.0.1');
        s.once('connect', () => resolve(s));
        s.once('error', () => resolve(null));
      });
      if (!sock) await new Promise((r) => setTimeout(r, 100));
    }
    expect(sock).not.toBeNull();
    sock?.on('error', () => undefined);
    sock?.write('x');
    // The open record is committed before any byte is forwarded; wait until it is searchable.
    const until = Date.now() + 10_000;
    let count = '0';
    while (count.trim() !== '1' && Date.now() < until) {
      count = (await runCli(['search', '-c', config, '--action', 'connection-open', '--count']))
        .out;
    }
    expect(count.trim()).toBe('1');
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    const out = await runCli([
      'search',
      '-c',
      config,
      '--action',
      'connection-close',
      '--format',
      'ndjson',
    ]);
    const close = JSON.parse(out.out.trim()) as { event: { reason: string } };
    expect(close.event.reason).toBe('shutdown');
    expect(stderr).toContain('stopping');
    sock?.destroy();
  });
});
