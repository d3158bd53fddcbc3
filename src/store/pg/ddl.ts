/**
 * What both PostgreSQL stores share (the gateway's own store in src/store/pg and the
 * collector's central store in src/ship): numbered migrations recorded in
 * `schema_migrations` and applied under an advisory lock, and tables partitioned by UTC day
 * whose partitions are created on demand, under the same lock, in their own transaction.
 */
import type pg from 'pg';
import { PortwardenError } from '../../errors.js';

export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const DAY_MS = 86_400_000;

/** The UTC day number (days since the epoch) of a nanosecond timestamp. */
export function dayOf(tsNs: bigint): number {
  return Number(tsNs / 1_000_000n / BigInt(DAY_MS));
}

/** The partition of `table` that holds `day`: records_p20261122. */
export function dayPartitionName(table: string, day: number): string {
  const d = new Date(day * DAY_MS).toISOString();
  return `${table}_p${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}`;
}

/**
 * Applies the migrations the database lacks, all in one transaction under `lockKey` (so
 * several processes may start at once); returns the schema version. `schema_migrations`
 * is created in the first schema of the search path. A database newer than this build is
 * refused with PW_ERR_STORE_SCHEMA.
 */
export async function applyMigrations(
  client: pg.ClientBase,
  migrations: readonly Migration[],
  lockKey: number,
): Promise<number> {
  const latest = migrations.length;
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, description text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const current = await schemaVersion(client);
    if (current > latest) {
      throw new PortwardenError('PW_ERR_STORE_SCHEMA', { found: current, expected: latest });
    }
    for (const m of migrations) {
      if (m.version <= current) continue;
      await client.query(m.sql);
      await client.query('INSERT INTO schema_migrations (version, description) VALUES ($1, $2)', [
        m.version,
        m.description,
      ]);
    }
    await client.query('COMMIT');
    return latest;
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** The highest applied migration (0 when there is none). */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const r = await client.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM schema_migrations',
  );
  return r.rows[0]?.v ?? 0;
}

/**
 * Creates the day partitions of `table` that do not exist yet (own transaction, under
 * `lockKey`). `bounds(day)` gives the SQL literals of the range [from, to).
 */
export async function createDayPartitions(
  client: pg.ClientBase,
  table: string,
  days: Iterable<number>,
  bounds: (day: number) => readonly [string, string],
  lockKey: number,
): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [lockKey]);
    for (const day of days) {
      const [from, to] = bounds(day);
      await client.query(
        `CREATE TABLE IF NOT EXISTS ${dayPartitionName(table, day)} PARTITION OF ${table} FOR VALUES FROM (${from}) TO (${to})`,
      );
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK');
    throw err;
  }
}

/** Bounds of a day partition keyed by timestamptz. */
export function timestamptzDay(day: number): readonly [string, string] {
  return [
    `'${new Date(day * DAY_MS).toISOString()}'`,
    `'${new Date((day + 1) * DAY_MS).toISOString()}'`,
  ];
}

/** Bounds of a day partition keyed by nanoseconds since the epoch (bigint). */
export function nanosecondDay(day: number): readonly [string, string] {
  const ns = BigInt(DAY_MS) * 1_000_000n;
  return [String(BigInt(day) * ns), String(BigInt(day + 1) * ns)];
}
