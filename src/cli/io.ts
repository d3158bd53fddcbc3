/** Shared CLI plumbing: exit codes, error printing, opening the store for reading. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { PortwardenError, errorMessage } from '../errors.js';
import { SqliteStore } from '../store/index.js';

export interface GlobalOptions {
  readonly config?: string;
  readonly dataDir?: string;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals<GlobalOptions>();
}

/** Load the config named by -c (default ./portwarden.yaml). */
export function loadFromOptions(cmd: Command): LoadedConfig {
  return loadConfig(globalOptions(cmd).config ?? 'portwarden.yaml');
}

/**
 * The data directory: --data-dir, else the config's data_dir when a config file is there,
 * else ./portwarden-data.
 */
export function dataDirFromOptions(cmd: Command): string {
  const g = globalOptions(cmd);
  if (g.dataDir) return resolve(g.dataDir);
  const file = g.config ?? 'portwarden.yaml';
  if (g.config || existsSync(file)) return loadConfig(file).config.data_dir;
  return resolve('portwarden-data');
}

/** Open the embedded store read-only (the gateway may be writing it at the same time). */
export function openStoreForReading(dataDir: string): SqliteStore {
  const path = join(dataDir, 'portwarden.db');
  if (!existsSync(path)) {
    throw new PortwardenError('PW_ERR_NOT_FOUND', {
      what: `audit store ${path} (start the gateway first, or pass --data-dir)`,
    });
  }
  return new SqliteStore(path, { readonly: true });
}

/** Run a command body; print PortwardenErrors plainly and set the documented exit code. */
export async function runCommand(
  body: () => Promise<number | void> | number | void,
): Promise<void> {
  try {
    const code = await body();
    process.exitCode = typeof code === 'number' ? code : 0;
  } catch (err) {
    if (err instanceof PortwardenError) {
      process.stderr.write(`portwarden: ${err.code}: ${err.message}\n`);
      process.exitCode = err.exitCode === 0 ? 2 : err.exitCode;
    } else {
      process.stderr.write(`portwarden: unexpected error: ${errorMessage(err)}\n`);
      if (err instanceof Error && err.stack) process.stderr.write(`${err.stack}\n`);
      process.exitCode = 2;
    }
  }
}

export function usage(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_USAGE', { detail });
}
