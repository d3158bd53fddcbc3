/**
 * The config and the data dir the global options name, and opening its store for reading.
 * Loads the stores, so commands import it when they run, not at start-up (io.ts has the light
 * plumbing). The config module (its schema pulls in zod and most of the product's schemas)
 * loads only when a config file is read: `search --data-dir DIR` never needs it.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import type { LoadedConfig } from '../config/index.js';
import { openStore, type Store } from '../store/index.js';
import { globalOptions } from './io.js';

/** Load and validate a config file. */
export async function readConfig(file: string): Promise<LoadedConfig> {
  const { loadConfig } = await import('../config/index.js');
  return loadConfig(file);
}

/** Load the config named by -c (default ./portwarden.yaml). */
export function loadFromOptions(cmd: Command): Promise<LoadedConfig> {
  return readConfig(globalOptions(cmd).config ?? 'portwarden.yaml');
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
export async function dataDirFromOptions(cmd: Command): Promise<string> {
  const g = globalOptions(cmd);
  const file = g.config ?? 'portwarden.yaml';
  if (g.dataDir)
    return remember(g.dataDir, g.config ? (await readConfig(file)).config.store : undefined);
  if (g.config || existsSync(file)) {
    const config = (await readConfig(file)).config;
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
