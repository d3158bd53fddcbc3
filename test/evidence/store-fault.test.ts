/**
 * Store faults: the data dir lives on its own small tmpfs (mounted by the test; it needs
 * root, as CI has). The disk fills up under a strict gateway with postgres, mysql, redis and
 * http listeners (store-fault-scenarios.ts):
 *
 * - `on_store_failure: refuse` (default): actions on open connections and new connections
 *   get their protocol's native refusal (pg/psql 53100 and 57P03, mysql2 ERR 1021 and 1040,
 *   -ERR from a raw socket and redis-cli, 503 + Retry-After from a keep-alive agent and
 *   curl), the process log says so once; when space returns everything is served again by
 *   itself, every accepted action has its record, the refusals are recorded with reason
 *   store-unavailable, sequences are gapless and `portwarden verify` passes.
 * - `block`: the connection already open has its next command held (not lost), a new
 *   connection is closed, and everything resumes by itself.
 *
 * A read-only data dir is refused at start with PW_ERR_STORE.
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
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/index.js';
import { byAction, startGateway } from '../helpers/gateway.js';
import { run } from '../helpers/run.js';
import { CLI } from './child-gateway.js';
import {
  blockScenario,
  refuseScenario,
  startFaultGateway,
  type FaultGateway,
} from './store-fault-scenarios.js';

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
let f: FaultGateway | null = null;

beforeEach(() => {
  mountDir = mkdtempSync(join(tmpdir(), 'pw-fault-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountDir]);
});

afterEach(async () => {
  await f?.close();
  f = null;
  execFileSync('umount', ['-l', mountDir]);
  rmSync(mountDir, { recursive: true, force: true });
});

const dataDir = (): string => join(mountDir, 'data');

async function verify(): Promise<string> {
  const config = join(mountDir, 'pw.yaml');
  writeFileSync(config, `data_dir: ${dataDir()}\napi: {enabled: false}\n`);
  return run(process.execPath, [CLI, 'verify', '-c', config]);
}

describe('store faults: disk full (strict mode)', () => {
  let filler = '';
  const fault = (): void => {
    filler = fillDisk(mountDir);
    expect(statfsSync(mountDir).bavail).toBeLessThan(16);
  };
  const heal = (): void => rmSync(filler);

  it('refuse (default): native refusals for actions and new connections, resumes by itself, loses nothing, verify passes', async () => {
    f = await startFaultGateway(dataDir(), 'refuse');
    await refuseScenario(f, fault, heal, /AUDIT STORE REFUSED A COMMIT/);
    await f.close();
    f = null;
    expect(await verify()).toMatch(/^ok: \d+ records and \d+ signed checkpoints verified/);
  }, 90_000);

  it('block: holds the open connection, closes new ones, resumes when space returns, loses nothing', async () => {
    f = await startFaultGateway(dataDir(), 'block');
    await blockScenario(f, fault, heal, /AUDIT STORE REFUSED A COMMIT/);
  }, 90_000);
});

describe('store faults: read-only data dir at start', () => {
  it('`start` refuses with PW_ERR_STORE naming the file; starts again once writable', async () => {
    // Linux refuses `remount,ro` (EBUSY) while SQLite holds files open for writing, so a
    // store cannot turn read-only under a running gateway except by a kernel error remount,
    // which SQLite sees as a failed write (store-readonly.test.ts). Here: at start.
    const g = await startGateway({
      listeners: [
        { name: 'redis', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
      ],
      extra: { data_dir: dataDir() },
    });
    expect(await run('redis-cli', ['-p', String(g.port('redis')), 'PING'])).toBe('PONG\n');
    await g.waitForEvents((evs) => byAction(evs, 'connection-close').length === 1);
    await g.stop();
    const count = (): number => {
      const store = new SqliteStore(join(dataDir(), 'portwarden.db'), { readonly: true });
      const n = [...store.iterate(0)].length;
      store.close();
      return n;
    };
    const before = count();
    const config = join(mountDir, 'pw.yaml');
    writeFileSync(
      config,
      `data_dir: ${dataDir()}\napi: {enabled: false}\nlisteners:\n  - {name: r, listen: "127.0.0.1:0", target: "127.0.0.1:6379", protocol: redis}\n`,
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
