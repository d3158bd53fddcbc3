/**
 * Store faults: the data dir lives on its own small tmpfs (mounted by the test; it needs
 * root, as CI has). The disk fills up, or is remounted read-only, under a strict gateway:
 * the connection already open has its next command held (not lost), new connections are
 * refused with reason store-unavailable (that refusal is kept in memory and committed
 * later), the process log says so loudly, and when the disk heals everything resumes by
 * itself with every record committed and sequences gapless. A read-only data dir is refused
 * at start with PW_ERR_STORE.
 */
import { execFileSync } from 'node:child_process';
import {
  closeSync,
  mkdtempSync,
  openSync,
  rmSync,
  statfsSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { SqliteStore } from '../../src/store/index.js';
import { byAction, field, startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { run } from '../helpers/run.js';
import { CLI } from './child-gateway.js';
import { until } from './flood-scenarios.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A Redis connection that counts replies; `send` queues a PING. */
function redisClient(
  port: number,
): Promise<{ sock: net.Socket; replies: () => number; ping: () => void; closed: () => boolean }> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let replies = 0;
    let closed = false;
    sock.on('data', (d) => {
      replies += d.toString('latin1').split('\r\n').length - 1;
    });
    sock.on('close', () => {
      closed = true;
    });
    sock.on('error', () => undefined);
    sock.once('connect', () =>
      resolve({
        sock,
        replies: () => replies,
        ping: () => sock.write('PING\r\n'),
        closed: () => closed,
      }),
    );
    sock.once('error', reject);
  });
}

/** Connect and report whether the gateway served a PING or closed the connection. */
async function tryPing(port: number): Promise<'served' | 'refused'> {
  const c = await redisClient(port);
  c.ping();
  await until('an answer or a close', () => c.replies() > 0 || c.closed(), 10_000);
  const served = c.replies() > 0;
  c.sock.destroy();
  return served ? 'served' : 'refused';
}

function fillDisk(dir: string): string {
  const file = join(dir, 'filler');
  const fd = openSync(file, 'w');
  const block = Buffer.alloc(64 * 1024, 0x55);
  try {
    for (;;) writeSync(fd, block);
  } catch {
    // ENOSPC: the filesystem is full.
  } finally {
    closeSync(fd);
  }
  return file;
}

let mountDir = '';
let gw: TestGateway | null = null;
let logText = '';

beforeEach(async () => {
  mountDir = mkdtempSync(join(tmpdir(), 'pw-fault-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountDir]);
  logText = '';
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      logText += chunk.toString('utf8');
      cb();
    },
  });
  gw = await startGateway({
    listeners: [
      { name: 'redis', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
    ],
    extra: { data_dir: join(mountDir, 'data') },
    gatewayOptions: { log: pino({ level: 'info' }, sink) },
  });
});

afterEach(async () => {
  await gw?.stop();
  gw = null;
  execFileSync('umount', ['-l', mountDir]);
  rmSync(mountDir, { recursive: true, force: true });
});

async function faultAndHeal(fault: () => void, heal: () => void): Promise<void> {
  const g = gw;
  if (!g) throw new Error('no gateway');
  const port = g.port('redis');
  const a = await redisClient(port);
  a.ping();
  await until('first PING answered', () => a.replies() === 1);

  fault();
  // Keep the open connection busy until a commit fails; its last PING is then held.
  let sent = 1;
  await until(
    'the store to refuse a commit',
    () => {
      if (!g.gateway.recorder.isHealthy()) return true;
      if (a.replies() === sent) {
        a.ping();
        sent++;
      }
      return false;
    },
    30_000,
  );
  const answeredAtFault = a.replies();
  expect(await tryPing(port)).toBe('refused');
  await sleep(300);
  expect(a.replies()).toBe(answeredAtFault);
  expect(logText).toMatch(/AUDIT STORE REFUSED A COMMIT/);

  heal();
  await until('the store to accept again', () => g.gateway.recorder.isHealthy(), 20_000);
  await until('held PINGs answered', () => a.replies() === sent, 10_000);
  expect(await tryPing(port)).toBe('served');
  a.sock.destroy();

  const events = await g.waitForEvents(
    (evs) =>
      byAction(evs, 'connection-close').length >= 2 &&
      byAction(evs, 'redis-reply').length >= sent + 1,
  );
  const refused = byAction(events, 'connection-open').filter(
    (e) => field(e, 'event.reason') === 'store-unavailable',
  );
  expect(refused).toHaveLength(1);
  const pings = byAction(events, 'redis-command').filter(
    (e) => field(e, 'redis.command') === 'ping',
  );
  expect(pings.length).toBe(sent + 1);
  const seqs = events.map((e: JsonObject) => Number(field(e, 'event.sequence')));
  expect(seqs).toEqual(seqs.map((_, i) => i));
}

describe('store faults (strict mode)', () => {
  it('disk full: refuses new connections, holds the open one, resumes when space returns, loses nothing', async () => {
    let filler = '';
    await faultAndHeal(
      () => {
        filler = fillDisk(mountDir);
        expect(statfsSync(mountDir).bavail).toBeLessThan(16);
      },
      () => rmSync(filler),
    );
  }, 90_000);

  it('read-only data dir: `start` refuses with PW_ERR_STORE naming the file; starts again once writable', async () => {
    // Linux refuses `remount,ro` (EBUSY) while SQLite holds files open for writing, so a
    // store cannot turn read-only under a running gateway except by a kernel error remount,
    // which SQLite sees as a failed write: the disk-full path above. Here: at start.
    const g = gw;
    if (!g) throw new Error('no gateway');
    expect(await tryPing(g.port('redis'))).toBe('served');
    await g.waitForEvents((evs) => byAction(evs, 'connection-close').length === 1);
    await g.stop();
    gw = null;
    const dataDir = join(mountDir, 'data');
    const count = (): number => {
      const store = new SqliteStore(join(dataDir, 'portwarden.db'), { readonly: true });
      const n = [...store.iterate(0)].length;
      store.close();
      return n;
    };
    const before = count();
    const config = join(mountDir, 'pw.yaml');
    writeFileSync(
      config,
      `data_dir: ${dataDir}\napi: {enabled: false}\nlisteners:\n  - {name: r, listen: "127.0.0.1:0", target: "127.0.0.1:6379", protocol: redis}\n`,
    );
    execFileSync('mount', ['-o', 'remount,ro', mountDir]);
    const refused = await run(process.execPath, [CLI, 'start', '-c', config]).then(
      () => 'started',
      (err: unknown) => String(err),
    );
    expect(refused).toMatch(/PW_ERR_STORE: audit store failure: .*portwarden\.db/);
    execFileSync('mount', ['-o', 'remount,rw', mountDir]);
    expect(count()).toBe(before);
  }, 90_000);
});
