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
 * With `on_store_failure: refuse` (default) it checks the native refusals of actions and new
 * connections through real clients (store-fault-scenarios.ts); with `block`, the held
 * command and the closed new connection. Both: the log line with `disk I/O error`,
 * everything resumes by itself once writable, every accepted action has its record,
 * sequences are gapless and `portwarden verify` passes.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from '../helpers/run.js';
import { CLI } from './child-gateway.js';
import {
  blockScenario,
  refuseScenario,
  startFaultGateway,
  type FaultGateway,
} from './store-fault-scenarios.js';

let root = '';
let mountDir = '';
let f: FaultGateway | null = null;

const dataDir = (): string => join(mountDir, 'data');

/** Every store file but SQLite's shared-memory index (written through mmap), and the dir. */
function storePaths(): string[] {
  const files = readdirSync(dataDir(), { withFileTypes: true })
    .filter((e) => e.isFile() && !e.name.endsWith('-shm'))
    .map((e) => join(dataDir(), e.name));
  return [...files, dataDir()];
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
});

afterEach(async () => {
  await run('chattr', ['-R', '-i', dataDir()]).catch(() => undefined);
  await f?.close();
  f = null;
  await run('umount', [mountDir]);
  rmSync(root, { recursive: true, force: true });
});

async function verify(): Promise<string> {
  const config = join(root, 'pw.yaml');
  writeFileSync(config, `data_dir: ${dataDir()}\napi: {enabled: false}\n`);
  return run(process.execPath, [CLI, 'verify', '-c', config]);
}

describe('store faults: data dir turns unwritable under load (strict mode)', () => {
  let locked: string[] = [];
  const fault = async (): Promise<void> => {
    locked = storePaths();
    await run('chattr', ['+i', ...locked]);
  };
  const heal = async (): Promise<void> => {
    await run('chattr', ['-i', ...locked]);
  };
  const ioError = /"err":"disk I\/O error".*AUDIT STORE REFUSED A COMMIT/;

  it('refuse (default): native refusals, resumes by itself, loses nothing, verify passes', async () => {
    f = await startFaultGateway(dataDir(), 'refuse');
    await refuseScenario(f, fault, heal, ioError);
    await f.close();
    f = null;
    expect(await verify()).toMatch(/^ok: \d+ records and \d+ signed checkpoints verified/);
  }, 120_000);

  it('block: holds the open connection, closes new ones, resumes by itself, verify passes', async () => {
    f = await startFaultGateway(dataDir(), 'block');
    await blockScenario(f, fault, heal, ioError);
    await f.close();
    f = null;
    expect(await verify()).toMatch(/^ok: \d+ records and \d+ signed checkpoints verified/);
  }, 120_000);
});
