/**
 * `portwarden start` as a child process (the built CLI, as users run it), for the evidence
 * tests that must kill the gateway (-9) or watch it from outside. Ports are chosen once and
 * kept across restarts so clients can reconnect to the same address.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { freePort } from '../helpers/net.js';

export const CLI = resolve(import.meta.dirname, '..', '..', 'dist', 'cli', 'main.js');

export interface ChildListener {
  readonly name: string;
  readonly protocol: string;
  readonly target: string;
  readonly [key: string]: unknown;
}

export interface ChildGateway {
  readonly dataDir: string;
  readonly configFile: string;
  port(name: string): number;
  /** Start (or restart) the process; resolves when every listener accepts. */
  start(): Promise<void>;
  /** SIGKILL, no chance to flush or drain. */
  kill9(): Promise<void>;
  /** SIGTERM and wait for a clean exit. */
  stop(): Promise<number | null>;
  pid(): number;
  /** Everything the process wrote to stdout/stderr (process logs). */
  output(): string;
}

export { freePort };

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect({ host: '127.0.0.1', port });
      s.once('connect', () => {
        s.destroy();
        res(true);
      });
      s.once('error', () => res(false));
    });
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`port ${port} not accepting within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function childGateway(opts: {
  listeners: readonly ChildListener[];
  audit?: Record<string, unknown>;
  dataDir?: string;
}): Promise<ChildGateway> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'pw-evidence-'));
  const ports = new Map<string, number>();
  for (const l of opts.listeners) ports.set(l.name, await freePort());
  const configFile = join(dataDir, 'portwarden.yaml');
  writeFileSync(
    configFile,
    stringify({
      node: 'evidence',
      data_dir: dataDir,
      log: { level: 'info' },
      api: { enabled: false },
      audit: { mode: 'strict', ...(opts.audit ?? {}) },
      shutdown_timeout: '1s',
      listeners: opts.listeners.map((l) => ({ ...l, listen: `127.0.0.1:${ports.get(l.name)}` })),
    }),
  );
  let child: ChildProcess | null = null;
  let out = '';
  const exited = (c: ChildProcess): Promise<number | null> =>
    c.exitCode !== null || c.signalCode !== null
      ? Promise.resolve(c.exitCode)
      : new Promise((res) => c.once('exit', (code) => res(code)));
  return {
    dataDir,
    configFile,
    port(name) {
      const p = ports.get(name);
      if (p === undefined) throw new Error(`no listener ${name}`);
      return p;
    },
    async start() {
      const c = spawn(process.execPath, [CLI, 'start', '-c', configFile], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      child = c;
      const keep = (b: Buffer): void => {
        out += b.toString('utf8');
        if (out.length > 1_000_000) out = out.slice(-500_000);
      };
      c.stdout?.on('data', keep);
      c.stderr?.on('data', keep);
      const deadline = Date.now() + 20_000;
      for (const p of ports.values()) {
        if (c.exitCode !== null) throw new Error(`gateway exited ${c.exitCode}:\n${out}`);
        await waitForPort(p, Math.max(deadline - Date.now(), 1));
      }
    },
    async kill9() {
      if (!child) return;
      const c = child;
      c.kill('SIGKILL');
      await exited(c);
      child = null;
    },
    async stop() {
      if (!child) return null;
      const c = child;
      c.kill('SIGTERM');
      const code = await exited(c);
      child = null;
      return code;
    },
    pid: () => child?.pid ?? -1,
    output: () => out,
  };
}
