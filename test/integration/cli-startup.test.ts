/**
 * The built CLI starts without the product: a command definition loads commander and a few
 * small modules; the gateway, the stores, the API, the protocol parsers and every other
 * package load only when a command runs (its `*-run.js` module). Checked on the modules a
 * real `portwarden --help` loads, recorded by a module load hook — no timing involved.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultVerifyThreads as verifyThreadsOfAudit } from '../../src/audit/verify-parallel.js';
import * as copies from '../../src/cli/command-defaults.js';
import { INGEST_FORMATS } from '../../src/ingest/schema.js';
import { CENTRAL_GROUP_KEYS } from '../../src/ship/central-read.js';
import { COLLECTOR_DEFAULTS } from '../../src/ship/collector.js';
import { SHIP_DEFAULTS } from '../../src/ship/stream.js';
import { SqliteStore } from '../../src/store/index.js';
import { CLI } from '../helpers/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pw-cli-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Appends the URL of every module loaded through `import` to $PW_LOADED_LOG. */
const HOOKS = `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(process.env.PW_LOADED_LOG, url + '\\n');
  return next(url, context);
}`;
const REGISTER = `import { register } from 'node:module';
register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(HOOKS)}`)});`;

let runs = 0;

/** The modules `portwarden ...args` loads, relative to the package root (dist/…, node:…). */
function loadedBy(
  args: readonly string[],
): Promise<{ code: number; out: string; modules: string[] }> {
  const log = join(dir, `loaded-${runs++}.txt`);
  const root = pathToFileURL(join(CLI, '..', '..', '..')).href + '/';
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', `data:text/javascript,${encodeURIComponent(REGISTER)}`, CLI, ...args],
      { encoding: 'utf8', cwd: dir, env: { ...process.env, PW_LOADED_LOG: log } },
      (error, stdout) => {
        const modules = readFileSync(log, 'utf8')
          .split('\n')
          .filter((u) => u !== '' && !u.startsWith('data:'))
          .map((u) => (u.startsWith(root) ? u.slice(root.length) : u));
        resolve({ code: error ? Number(error.code ?? 2) : 0, out: stdout, modules });
      },
    );
  });
}

/** Product modules a command definition must not load (each pulls in a large graph). */
const HEAVY_DIST = [
  /^dist\/(api|gateway|protocols|policy|ship|detect|sinks|ingest|identity\/index)\b/,
  /^dist\/(store|config|inventory)\/index\.js$/,
  /^dist\/audit\/(integrity|verify|bundle|recorder|checkpointer)/,
  // The CLI's own modules that open the config, the store or the log.
  /^dist\/cli\/(data-dir|local-log)\.js$/,
  /^dist\/cli\/commands\/.*-run\.js$/,
];

describe('CLI start-up', () => {
  for (const args of [['--help'], ['verify', '--help'], ['search', '--help']]) {
    it(`portwarden ${args.join(' ')} loads no package but commander and none of the product`, async () => {
      const { code, out, modules } = await loadedBy(args);
      expect(code).toBe(0);
      expect(out).toContain('Usage: portwarden');
      expect(modules).toContain('dist/cli/program.js');
      const packages = new Set(
        modules
          .map((m) => /(?:^|\/)node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(m)?.[1])
          .filter(Boolean),
      );
      expect([...packages]).toEqual(['commander']);
      expect(modules.filter((m) => HEAVY_DIST.some((re) => re.test(m)))).toEqual([]);
    });
  }

  it('search --data-dir reads the store without loading the config schema', async () => {
    const data = join(dir, 'data');
    mkdirSync(data);
    new SqliteStore(join(data, 'portwarden.db')).close();
    const { code, out, modules } = await loadedBy(['--data-dir', data, 'search', '--count']);
    expect(out).toBe('0\n');
    expect(code).toBe(0);
    expect(modules).toContain('dist/cli/commands/search-run.js');
    expect(modules).toContain('dist/store/index.js');
    expect(modules.filter((m) => m.startsWith('dist/config/') || m.includes('/zod/'))).toEqual([
      'dist/config/address.js',
    ]);
  });

  it('a command that runs loads its own module then', async () => {
    const { code, modules } = await loadedBy(['verify', '--bundle', join(dir, 'missing.json')]);
    expect(code).toBe(2);
    expect(modules).toContain('dist/cli/commands/verify-run.js');
    expect(modules).toContain('dist/audit/bundle.js');
  });
});

describe('defaults the definitions copy (command-defaults.ts) equal their sources', () => {
  it('verify --threads', () => {
    expect(copies.defaultVerifyThreads()).toBe(verifyThreadsOfAudit());
  });
  it('ingest formats', () => {
    expect(copies.INGEST_FORMATS).toEqual(INGEST_FORMATS);
  });
  it('collect defaults', () => {
    expect(copies.SHIP_DEFAULTS).toEqual({
      stream: SHIP_DEFAULTS.stream,
      subjectPrefix: SHIP_DEFAULTS.subjectPrefix,
    });
    expect(copies.COLLECTOR_DEFAULTS).toEqual({
      durable: COLLECTOR_DEFAULTS.durable,
      batch: COLLECTOR_DEFAULTS.batch,
    });
  });
  it('central search --group-by keys', () => {
    expect(copies.CENTRAL_GROUP_KEYS).toEqual(Object.keys(CENTRAL_GROUP_KEYS));
  });
});
