/**
 * Small process and socket helpers shared by the benchmark programs: free ports, waiting for
 * a port to accept, running a command to completion with a deadline, and spawning a
 * long-lived server that is always killed at the end.
 */
import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import net from 'node:net';
import { readFileSync } from 'node:fs';

/** A port the kernel considers free right now (bind 127.0.0.1:0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = addr !== null && typeof addr === 'object' ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Poll until something accepts on host:port, or throw after `timeoutMs`. */
export async function waitForPort(
  port: number,
  timeoutMs = 15_000,
  host = '127.0.0.1',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > deadline)
      throw new Error(`nothing accepted on ${host}:${port} within ${timeoutMs} ms`);
    await delay(50);
  }
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export interface CommandResult {
  readonly stdout: string;
  readonly stderr: string;
}

/** Run a program to completion (never blocks the event loop); rejects on non-zero exit. */
export function runCommand(
  cmd: string,
  args: readonly string[],
  opts: { timeoutMs?: number; env?: NodeJS.ProcessEnv; input?: string } = {},
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      {
        encoding: 'utf8',
        timeout: opts.timeoutMs ?? 120_000,
        maxBuffer: 64 * 1024 * 1024,
        env: opts.env ?? process.env,
      },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** A background server process; `stop()` sends SIGTERM, then SIGKILL after a grace period. */
export interface Background {
  readonly child: ChildProcess;
  readonly pid: number;
  output(): string;
  stop(): Promise<void>;
}

export function spawnBackground(
  cmd: string,
  args: readonly string[],
  env?: NodeJS.ProcessEnv,
): Background {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env });
  let out = '';
  const keep = (b: Buffer): void => {
    out += b.toString('utf8');
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  live.add(child);
  return {
    child,
    pid: child.pid ?? -1,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      live.delete(child);
    },
  };
}

const live = new Set<ChildProcess>();

/** Kill every background process still running (on exit or Ctrl-C). */
export function killAllBackground(): void {
  for (const c of live) if (c.exitCode === null) c.kill('SIGKILL');
  live.clear();
}

/**
 * Runs a benchmark program's `main`: every background process is killed when it ends, and a
 * failure is printed (`<name> failed: <stack>`) and sets exit code 1.
 */
export function runBenchmark(name: string, main: () => Promise<void>): void {
  main().then(
    () => killAllBackground(),
    (err: unknown) => {
      killAllBackground();
      process.stderr.write(
        `${name} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exitCode = 1;
    },
  );
}

/** Resident set size of a process in bytes (from /proc/<pid>/status VmRSS). */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  return m?.[1] ? Number(m[1]) * 1024 : 0;
}
