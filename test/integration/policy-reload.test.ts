/**
 * Hot reload under a running gateway (Gateway + PolicyReloader, as `portwarden start` runs
 * them), then `policy history` and `policy test --replay` over what was recorded:
 * - a saved change is picked up by the file watcher; new and live connections follow the new
 *   rule at once, and records before and after carry the two versions;
 * - a broken file is rejected and recorded with its position; the previous policy stays;
 * - SIGHUP reloads; a listener target change is named as needing a restart, not applied.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import type { JsonObject } from '../../src/audit/event.js';
import { policyCommand } from '../../src/cli/commands/policy.js';
import { loadConfig } from '../../src/config/index.js';
import { Gateway } from '../../src/gateway/index.js';
import { PolicyReloader, reloadOnSighup } from '../../src/gateway/reload.js';
import { silentLogger } from '../../src/log.js';
import { policyVersion } from '../../src/policy/index.js';
import { byAction, field } from '../helpers/gateway.js';
import { run } from '../helpers/run.js';

const V1 = { rules: [{ id: 'local', allow: { sources: ['127.0.0.0/8'] } }] };
const V2 = {
  rules: [
    { id: 'no-ping', deny: { redis: { commands: ['ping'] } } },
    { id: 'local', allow: { sources: ['127.0.0.0/8'] } },
  ],
};

let dir: string;
let file: string;
let gateway: Gateway;
let reloader: PolicyReloader;
let stopHup: () => void;

function writeConfig(policy: unknown, target = '127.0.0.1:6379'): void {
  writeFileSync(
    file,
    stringify({
      node: 'reload-node',
      data_dir: join(dir, 'data'),
      shutdown_timeout: '2s',
      listeners: [
        { name: 'cache', listen: '127.0.0.1:0', target, protocol: 'redis', policy: 'cache' },
      ],
      policies: { cache: policy },
    }),
  );
}

function events(): JsonObject[] {
  const out: JsonObject[] = [];
  for (const row of gateway.store.iterate(0))
    if (row.body) out.push(JSON.parse(row.body) as JsonObject);
  return out;
}

async function waitFor(pred: (evs: JsonObject[]) => boolean): Promise<JsonObject[]> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const evs = events();
    if (pred(evs)) return evs;
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((r) => setTimeout(r, 25));
  }
}

const reloads = (evs: readonly JsonObject[]): JsonObject[] => byAction(evs, 'policy-reload');
const port = (): string => String(gateway.listeners[0]?.address().port);
const redisCli = (...args: string[]): Promise<string> =>
  run('redis-cli', ['-h', '127.0.0.1', '-p', port(), ...args]);

async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  process.exitCode = 0;
  const cmd = policyCommand({ out: (t) => (out += t), err: (t) => (err += t) });
  cmd.exitOverride();
  await cmd.parseAsync([...args, '-c', file], { from: 'user' });
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'pw-reload-'));
  file = join(dir, 'portwarden.yaml');
  writeConfig(V1);
  gateway = Gateway.create(loadConfig(file), { log: silentLogger() });
  await gateway.start();
  reloader = new PolicyReloader(gateway, { file, log: silentLogger(), debounceMs: 50 });
  reloader.recordStart();
  reloader.watch();
  stopHup = reloadOnSighup(reloader);
}, 30_000);

afterAll(async () => {
  stopHup?.();
  reloader?.stop();
  await gateway?.stop(2000);
  gateway?.closeStore();
  rmSync(dir, { recursive: true, force: true });
});

describe('policy reload', () => {
  it('records the policies in force at start, each as written', async () => {
    const [start] = reloads(await waitFor((e) => reloads(e).length === 1));
    expect(field(start ?? {}, 'event.reason')).toBe('start');
    expect(field(start ?? {}, 'policy.versions')).toEqual({ cache: policyVersion(V1) });
    expect(field(start ?? {}, 'policy.definitions')).toEqual({ cache: V1 });
  });

  it('a saved change applies to new and live connections; both versions are in the record', async () => {
    const live = await respClient(Number(port()));
    expect(await live.send('PING')).toBe('+PONG');
    expect(await redisCli('PING')).toBe('PONG\n');

    writeConfig(V2);
    const evs = await waitFor((e) => reloads(e).length === 2);
    const reload = reloads(evs)[1] ?? {};
    expect(field(reload, 'event.reason')).toBe('file-change');
    expect(field(reload, 'event.outcome')).toBe('success');
    expect(field(reload, 'policy.changes')).toEqual([
      {
        name: 'cache',
        previous_version: policyVersion(V1),
        version: policyVersion(V2),
        added_rules: ['no-ping'],
        removed_rules: [],
        changed_rules: [],
        reordered: false,
      },
    ]);

    expect(await redisCli('PING')).toMatch(/^NOPERM .*no-ping/);
    expect(await live.send('PING')).toMatch(/^-NOPERM .*no-ping/);
    expect(await live.send('GET', 'pw:reload:none')).toBe('$-1');
    live.close();

    const pings = byAction(await waitFor((e) => pingRecords(e).length >= 4), 'redis-command')
      .filter((r) => field(r, 'redis.command') === 'ping')
      .map((r) => [field(r, 'event.type'), field(r, 'policy.version')]);
    expect(pings).toEqual([
      [['access', 'allowed'], policyVersion(V1)],
      [['access', 'allowed'], policyVersion(V1)],
      [['access', 'denied'], policyVersion(V2)],
      [['access', 'denied'], policyVersion(V2)],
    ]);
  });

  it('a broken file is rejected and recorded with its position; the previous policy stays', async () => {
    writeConfig({ rules: [{ id: 'bad', allow: { sources: ['10.0.0.0/33'] } }] });
    const evs = await waitFor((e) => reloads(e).length === 3);
    const rejected = reloads(evs)[2] ?? {};
    expect(field(rejected, 'event.outcome')).toBe('failure');
    expect(field(rejected, 'error.message')).toMatch(
      /portwarden\.yaml:\d+:\d+: policies\.cache\.rules\[0\]\.allow\.sources\[0\]/,
    );
    expect(field(rejected, 'policy.versions')).toEqual({ cache: policyVersion(V2) });
    expect(await redisCli('PING')).toMatch(/^NOPERM/);
  });

  it('SIGHUP reloads; a target change is reported as needing a restart and not applied', async () => {
    reloader.stop(); // Only the signal may reload now.
    writeConfig(V1, '127.0.0.1:6380');
    process.kill(process.pid, 'SIGHUP');
    const evs = await waitFor((e) => reloads(e).length === 4);
    const hup = reloads(evs)[3] ?? {};
    expect(field(hup, 'event.reason')).toBe('sighup');
    expect(field(hup, 'event.outcome')).toBe('success');
    expect(field(hup, 'policy.restart_required')).toEqual(['listener cache: target changed']);
    // Policy v1 again, and still the old target (6379) until a restart.
    expect(await redisCli('PING')).toBe('PONG\n');
  });

  it('policy history lists every version with its trigger and diff; --show prints one', async () => {
    const history = await cli('history');
    expect(history.code).toBe(0);
    const lines = history.out.trim().split('\n');
    expect(lines).toHaveLength(5);
    expect(lines[0]).toMatch(/\tstart\tcache: added \(sha256:[0-9a-f]{12}\)$/);
    expect(lines[1]).toMatch(
      /\tfile-change\tcache: sha256:[0-9a-f]{12}→sha256:[0-9a-f]{12} \+rule no-ping$/,
    );
    expect(lines[2]).toMatch(
      /\tfile-change\tREJECTED \(previous policies kept\): .*portwarden\.yaml:/,
    );
    expect(lines[3]).toMatch(/\tsighup\tcache: .* -rule no-ping$/);
    expect(lines[4]).toBe('\trestart needed: listener cache: target changed');

    const shown = await cli('history', '--show', policyVersion(V2).slice(0, 16));
    expect(shown.out.split('\n')[0]).toBe(`# policy cache ${policyVersion(V2)}`);
    expect(parse(shown.out)).toEqual({ cache: V2 });
  });

  it('policy test --replay reports what a candidate would have decided differently', async () => {
    const candidate = join(dir, 'candidate.yaml');
    writeFileSync(
      candidate,
      stringify({
        policies: {
          cache: {
            rules: [
              { id: 'no-get', deny: { redis: { commands: ['get'] } } },
              { id: 'local', allow: { sources: ['127.0.0.0/8'] } },
            ],
          },
        },
      }),
    );
    const r = await cli(
      'test',
      '--replay',
      '--since',
      '1h',
      '--policy',
      candidate,
      '--format',
      'ndjson',
    );
    expect(r.err).toBe('');
    const report = JSON.parse(r.out) as JsonObject;
    // The GET would be denied; the three denied PINGs would pass.
    expect(report.newlyDenied).toBe(1);
    expect(report.newlyAllowed).toBe(3);
    expect(report.counts).toEqual([
      { listener: 'cache', rule: 'local', now: 'allow', count: 3 },
      { listener: 'cache', rule: 'no-get', now: 'deny', count: 1 },
    ]);
    const examples = report.examples as JsonObject[];
    expect(examples[0]).toMatchObject({ subject: 'get pw:reload:none', was: 'allow', now: 'deny' });

    const table = await cli('test', '--replay', '--since', '1h', '--policy', candidate);
    expect(table.out).toMatch(/1 would be denied, 3 would be allowed/);
  });
});

function pingRecords(evs: readonly JsonObject[]): JsonObject[] {
  return byAction(evs, 'redis-command').filter((r) => field(r, 'redis.command') === 'ping');
}

/** A RESP client on a raw socket that stays open across the reload. */
async function respClient(
  p: number,
): Promise<{ send(...args: string[]): Promise<string>; close(): void }> {
  const sock: Socket = connect(p, '127.0.0.1');
  await new Promise((resolve) => sock.once('connect', resolve));
  let buf = '';
  sock.on('data', (c: Buffer) => (buf += c.toString('latin1')));
  return {
    async send(...args) {
      buf = '';
      sock.write(`*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`);
      const deadline = Date.now() + 5000;
      while (!buf.includes('\r\n')) {
        if (Date.now() > deadline) throw new Error('no reply');
        await new Promise((r) => setTimeout(r, 10));
      }
      return buf.slice(0, buf.indexOf('\r\n'));
    },
    close: () => sock.end(),
  };
}
