/**
 * Portwarden as its own process: a generated config (one listener per relayed service, a
 * fresh data dir), started from the built CLI (`dist/cli/main.js start`), exactly as a user
 * runs it. `cpuProfileDir` adds `--cpu-prof` so the profile is written when it stops.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import type { Background } from './util.js';
import { spawnBackground, waitForPort } from './util.js';

/** The built CLI; PW_BENCH_CLI points at another build (A/B runs of a change). */
export const CLI =
  process.env.PW_BENCH_CLI ?? resolve(import.meta.dirname, '..', 'dist', 'cli', 'main.js');

export interface PortwardenListener {
  readonly name: string;
  readonly listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly protocol: 'tcp' | 'postgres' | 'mysql' | 'redis' | 'http' | 'tls';
}

export interface PortwardenOptions {
  readonly mode: 'strict' | 'async';
  readonly listeners: readonly PortwardenListener[];
  readonly cpuProfileDir?: string;
  readonly dataDir?: string;
  readonly maxConnections?: number;
}

export interface RunningPortwarden extends Background {
  readonly dataDir: string;
  readonly configFile: string;
}

export function portwardenConfig(opts: PortwardenOptions, dataDir: string): string {
  const max = opts.maxConnections ?? 20_000;
  return stringify({
    node: 'bench',
    data_dir: dataDir,
    log: { level: 'warn' },
    api: { enabled: false },
    audit: { mode: opts.mode },
    shutdown_timeout: '2s',
    listeners: opts.listeners.map((l) => ({
      name: l.name,
      listen: `127.0.0.1:${l.listenPort}`,
      target: `${l.targetHost}:${l.targetPort}`,
      protocol: l.protocol,
      max_connections: max,
      max_connections_per_source: max,
    })),
  });
}

export async function startPortwarden(opts: PortwardenOptions): Promise<RunningPortwarden> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'pw-bench-data-'));
  const configFile = join(dataDir, 'portwarden.yaml');
  writeFileSync(configFile, portwardenConfig(opts, dataDir));
  const nodeArgs = opts.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${opts.cpuProfileDir}`] : [];
  const bg = spawnBackground(process.execPath, [...nodeArgs, CLI, 'start', '-c', configFile]);
  try {
    for (const l of opts.listeners) await waitForPort(l.listenPort, 20_000);
  } catch (err) {
    await bg.stop();
    throw new Error(`portwarden did not start: ${String(err)}\n${bg.output()}`, { cause: err });
  }
  return { ...bg, dataDir, configFile };
}
