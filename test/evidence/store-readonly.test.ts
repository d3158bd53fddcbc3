/**
 * The data dir stops accepting writes while a strict gateway runs under load, then accepts
 * them again.
 *
 * Linux refuses `mount -o remount,ro` while a process holds files open for writing (EBUSY,
 * checked on this machine: SQLite always does), and a filesystem the kernel forces read-only
 * after an error cannot be made writable again without unmounting it. So the test puts the
 * data dir on its own small ext4 filesystem (a loop-mounted image; needs root, as CI has)
 * and sets the immutable flag on every store file: ext4 then refuses every write, through
 * descriptors already open too (Linux >= 5.3), until the flag is cleared. That is what a
 * read-only data dir looks like to SQLite, and it can be undone under the running process.
 *
 * It checks: the open connection's next command is held (not answered, not lost), a new
 * connection is refused and that refusal recorded, the process log says so; once writable
 * the held command is answered by itself, new connections are served, every command has its
 * record, sequences are gapless and `portwarden verify` passes.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { byAction, field, startGateway } from '../helpers/gateway.js';
import type { TestGateway } from '../helpers/gateway.js';
import { run } from '../helpers/run.js';
import { CLI } from './child-gateway.js';
import { until } from './flood-scenarios.js';

interface RedisClient {
  readonly sock: net.Socket;
  replies(): number;
  ping(): void;
  closed(): boolean;
}

function redisClient(port: number): Promise<RedisClient> {
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host: '127.0.0.1', port });
    let replies = 0;
    let closed = false;
    sock.on('data', (d: Buffer) => {
      replies += d.toString('latin1').split('\r\n').length - 1;
    });
    sock.on('close', () => (closed = true));
    sock.on('error', () => undefined);
    sock.once('error', reject);
    sock.once('connect', () =>
      resolve({
        sock,
        replies: () => replies,
        ping: () => sock.write('PING\r\n'),
        closed: () => closed,
      }),
    );
  });
}

async function tryPing(port: number): Promise<'served' | 'refused'> {
  const c = await redisClient(port);
  c.ping();
  await until('an answer or a close', () => c.replies() > 0 || c.closed(), 10_000);
  const served = c.replies() > 0;
  c.sock.destroy();
  return served ? 'served' : 'refused';
}

let root = '';
let mountDir = '';
let gw: TestGateway | null = null;
let logText = '';

/** Every store file but SQLite's shared-memory index (written through mmap), and the dir. */
function storePaths(dataDir: string): string[] {
  const files = readdirSync(dataDir, { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('-shm'))
    .map((e) => join(dataDir, e.name));
  return [...files, dataDir];
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'pw-ro-'));
  const image = join(root, 'fs.img');
  writeFileSync(image, '');
  truncateSync(image, 64 * 1024 * 1024);
  await run('mkfs.ext4', ['-q', '-F', image]);
  mountDir = join(root, 'mnt');
  mkdirSync(mountDir);
  await run('mount', ['-o', 'loop', image, mountDir]);
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
  const dataDir = join(mountDir, 'data');
  await run('chattr', ['-R', '-i', dataDir]).catch(() => undefined);
  await gw?.stop();
  gw = null;
  await run('umount', [mountDir]);
  rmSync(root, { recursive: true, force: true });
});

describe('store faults (strict mode)', () => {
  it('data dir turns unwritable under load: holds the open connection, refuses new ones, resumes by itself, loses nothing, verify passes', async () => {
    const g = gw;
    if (!g) throw new Error('no gateway');
    const dataDir = join(mountDir, 'data');
    const port = g.port('redis');
    const a = await redisClient(port);
    a.ping();
    await until('first PING answered', () => a.replies() === 1);

    const locked = storePaths(dataDir);
    await run('chattr', ['+i', ...locked]);
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
    expect(a.replies()).toBe(answeredAtFault);
    expect(a.closed()).toBe(false);
    expect(logText).toMatch(/"err":"disk I\/O error".*AUDIT STORE REFUSED A COMMIT/);

    await run('chattr', ['-i', ...locked]);
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

    await g.stop();
    gw = null;
    const config = join(root, 'pw.yaml');
    writeFileSync(config, `data_dir: ${dataDir}\napi: {enabled: false}\n`);
    const verified = await run(process.execPath, [CLI, 'verify', '-c', config]);
    expect(verified).toMatch(/^ok: \d+ records and \d+ signed checkpoints verified/);
  }, 120_000);
});
