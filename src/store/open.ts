/**
 * One way to open the configured store: `store: postgres://…` (PostgresStore) or the
 * embedded SQLite file `<data_dir>/portwarden.db`. The gateway, the reading commands and
 * the commands that append outside a gateway all open it here.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PortwardenError } from '../errors.js';
import { PostgresStore, isPostgresUrl } from './pg/index.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './types.js';

/** What of the config says where the store is. */
export interface StoreLocation {
  readonly data_dir: string;
  /** `postgres://…` (absent: the embedded store in data_dir). */
  readonly store?: string | undefined;
}

export interface OpenStoreOptions {
  /** Readers: never create, migrate or write. */
  readonly readonly?: boolean;
  /** SQLite `synchronous=FULL` (PostgreSQL commits are durable per its own settings). */
  readonly fsync?: boolean;
  /**
   * The embedded store commits the Recorder's scheduled batches on a writer thread (the
   * gateway: its event loop never waits for SQLite). Default: on this thread.
   */
  readonly writerThread?: boolean;
}

/** Opens the store `where` names: a config's location, a postgres:// URL or a SQLite path. */
export function openStore(where: StoreLocation | string, options: OpenStoreOptions = {}): Store {
  const target =
    typeof where === 'string' ? where : (where.store ?? join(where.data_dir, 'portwarden.db'));
  if (isPostgresUrl(target))
    return new PostgresStore(target, { readonly: options.readonly ?? false });
  if (options.readonly) {
    if (target !== ':memory:' && !existsSync(target)) {
      throw new PortwardenError('PW_ERR_NOT_FOUND', {
        what: `audit store ${target} (start the gateway first, or pass --data-dir)`,
      });
    }
    return new SqliteStore(target, { readonly: true });
  }
  return new SqliteStore(target, {
    fsync: options.fsync ?? false,
    writer: options.writerThread === true ? 'thread' : 'inline',
  });
}
