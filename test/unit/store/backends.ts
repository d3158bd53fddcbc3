/**
 * The Store backends every conformance suite runs against: the embedded SQLite store (a
 * file in a temporary directory) and the PostgreSQL store (a fresh schema in database
 * `test` on the local server for every store opened; all of a file's schemas are dropped
 * after it).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { PostgresStore, SqliteStore, type Store } from '../../../src/store/index.js';

export const PG_TEST_URL = 'postgres://postgres@127.0.0.1:5432/test';

export interface Backend {
  readonly name: 'sqlite' | 'postgres';
  /** A new, empty store. */
  fresh(): Store;
  /** The same store opened again: `store` closed first, or (readonly) a reader beside it. */
  reopen(store: Store, options?: { readonly readonly?: boolean }): Store;
}

export interface Backends {
  readonly list: readonly Backend[];
  /** Close every store still open and remove what the backends created. */
  cleanup(): Promise<void>;
}

/** `tag` names this file's PostgreSQL schemas (pw_<tag>_<pid>_<n>). */
export function backends(tag: string): Backends {
  const dir = mkdtempSync(join(tmpdir(), `pw-${tag}-`));
  const open: Store[] = [];
  const where = new Map<Store, string>();
  const schemas: string[] = [];
  let n = 0;
  const track = <S extends Store>(s: S, location: string): S => {
    open.push(s);
    where.set(s, location);
    return s;
  };
  const location = (s: Store): string => {
    const l = where.get(s);
    if (l === undefined) throw new Error('not a store of this backend');
    return l;
  };
  const sqlite: Backend = {
    name: 'sqlite',
    fresh: () => {
      const path = join(dir, `s${n++}.db`);
      return track(new SqliteStore(path), path);
    },
    reopen: (s, o = {}) => {
      if (!o.readonly) s.close();
      const path = location(s);
      return track(new SqliteStore(path, { readonly: o.readonly ?? false }), path);
    },
  };
  const postgres: Backend = {
    name: 'postgres',
    fresh: () => {
      const schema = `pw_${tag}_${process.pid}_${n++}`;
      schemas.push(schema);
      const url = `${PG_TEST_URL}?schema=${schema}`;
      return track(new PostgresStore(url), url);
    },
    reopen: (s, o = {}) => {
      if (!o.readonly) s.close();
      const url = location(s);
      return track(new PostgresStore(url, { readonly: o.readonly ?? false }), url);
    },
  };
  return {
    list: [sqlite, postgres],
    async cleanup() {
      for (const s of open) s.close();
      rmSync(dir, { recursive: true, force: true });
      if (schemas.length === 0) return;
      const c = new pg.Client({ connectionString: PG_TEST_URL });
      await c.connect();
      try {
        for (const schema of schemas) await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      } finally {
        await c.end();
      }
    },
  };
}
