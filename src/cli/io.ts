/** Shared CLI plumbing: exit codes, error printing, opening the store for reading. */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { loadConfig, type LoadedConfig } from '../config/index.js';
import { PortwardenError, errorMessage } from '../errors.js';
import { openStore, type Store } from '../store/index.js';

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
 * `store:` of the config each data dir was named by (dataDirFromOptions): a data dir whose
 * records live in PostgreSQL is opened there by openStoreForReading and openLocalLog.
 */
const configuredStores = new Map<string, string>();

function remember(dataDir: string, store: string | undefined): string {
  const dir = resolve(dataDir);
  if (store !== undefined) configuredStores.set(dir, store);
  return dir;
}

/** The `store:` URL the config gave for `dataDir`, if any. */
export function configuredStore(dataDir: string): string | undefined {
  return configuredStores.get(resolve(dataDir));
}

/**
 * The data directory: --data-dir, else the config's data_dir when a config file is there,
 * else ./portwarden-data. The config's `store:` is remembered for that directory (also
 * with --data-dir when -c names the config explicitly).
 */
export function dataDirFromOptions(cmd: Command): string {
  const g = globalOptions(cmd);
  const file = g.config ?? 'portwarden.yaml';
  if (g.dataDir) return remember(g.dataDir, g.config ? loadConfig(file).config.store : undefined);
  if (g.config || existsSync(file)) {
    const config = loadConfig(file).config;
    return remember(config.data_dir, config.store);
  }
  return resolve('portwarden-data');
}

/** Whether the data dir has a store to read: a configured `store:`, or `portwarden.db`. */
export function storeExists(dataDir: string): boolean {
  return configuredStore(dataDir) !== undefined || existsSync(join(dataDir, 'portwarden.db'));
}

/**
 * Open the data dir's store read-only (the gateway may be writing it at the same time):
 * the config's `store: postgres://…`, else the embedded `portwarden.db`.
 */
export function openStoreForReading(dataDir: string): Store {
  return openStore({ data_dir: dataDir, store: configuredStore(dataDir) }, { readonly: true });
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
