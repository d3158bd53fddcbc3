/**
 * The worker thread behind PostgresStore: owns one `pg` connection and answers the store's
 * synchronous calls (sync-bridge.ts). Operations: `open` (connect, migrate, take the writer
 * lock, create today's partitions), `query` (one statement in autocommit), `commit` (one
 * group commit: one statement, one PostgreSQL transaction) and `close`.
 *
 * When the connection is lost the worker reconnects in the background and, meanwhile,
 * refuses calls at once instead of letting them wait on a connect timeout: the gateway's
 * thread is blocked for the length of each call, so a store that is down must answer
 * fast (the Recorder keeps the records and retries).
 */
import { createHash } from 'node:crypto';
import pg from 'pg';
import { PortwardenError, errorMessage } from '../../errors.js';
import { applyMigrations, createDayPartitions, dayOf, schemaVersion } from './ddl.js';
import { EVENT_COLUMNS, MIGRATIONS, SCHEMA_VERSION, eventDay } from './schema.js';
import { bridgeData, serveBridge } from './sync-bridge.js';
import type { CommitBatch, CommitResult, WorkerData } from './protocol.js';

const data = bridgeData<WorkerData>();

/** A stable int32 advisory lock key for this store's schema. */
function lockKey(purpose: string): number {
  return createHash('sha256')
    .update(`portwarden:${purpose}:${data.schema}`)
    .digest()
    .readInt32BE(0);
}
const DDL_LOCK = lockKey('ddl');
const WRITER_LOCK = lockKey('writer');

let client: pg.Client | null = null;
let reconnecting: Promise<void> | null = null;
let lastError = '';
let closing = false;

function unavailable(): PortwardenError {
  return new PortwardenError('PW_ERR_STORE_UNAVAILABLE', {
    detail: `${data.redacted}: ${lastError || 'not connected'}; reconnecting`,
  });
}

async function connect(): Promise<pg.Client> {
  const c = new pg.Client({
    connectionString: data.connection,
    connectionTimeoutMillis: data.connectTimeoutMs,
    statement_timeout: data.statementTimeoutMs,
    query_timeout: data.queryTimeoutMs,
    keepAlive: true,
    application_name: data.readonly ? 'portwarden-reader' : 'portwarden',
  });
  const lost = (err?: Error): void => {
    if (err) lastError = errorMessage(err);
    if (client === c) client = null;
  };
  c.on('error', lost);
  c.on('end', () => lost());
  try {
    await c.connect();
    await setUp(c);
  } catch (err) {
    lastError = errorMessage(err);
    await c.end().catch(() => undefined);
    throw err;
  }
  return c;
}

async function setUp(c: pg.Client): Promise<void> {
  const schema = data.schema;
  if (data.readonly) {
    const r = await c.query<{ n: string }>(
      "SELECT count(*) AS n FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations'",
      [schema],
    );
    if (Number(r.rows[0]?.n ?? 0) === 0) {
      throw new PortwardenError('PW_ERR_NOT_FOUND', {
        what: `audit store ${data.redacted} (start the gateway first)`,
      });
    }
    await c.query(`SET search_path TO ${schema}`);
    await c.query('SET default_transaction_read_only = on');
    const found = await schemaVersion(c);
    if (found > SCHEMA_VERSION) {
      throw new PortwardenError('PW_ERR_STORE_SCHEMA', { found, expected: SCHEMA_VERSION });
    }
    return;
  }
  await c.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
  await c.query(`SET search_path TO ${schema}`);
  const lock = await c.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
    WRITER_LOCK,
  ]);
  if (lock.rows[0]?.ok !== true) {
    throw new PortwardenError('PW_ERR_STORE', {
      detail: `${data.redacted}: another portwarden process is writing this store`,
    });
  }
  await applyMigrations(c, MIGRATIONS, DDL_LOCK);
}

/** The live connection, or an immediate PW_ERR_STORE_UNAVAILABLE while reconnecting. */
function live(): pg.Client {
  if (client !== null) return client;
  if (reconnecting === null && !closing) {
    reconnecting = connect()
      .then((c) => {
        client = c;
      })
      .catch(() => undefined)
      .finally(() => {
        reconnecting = null;
      });
  }
  throw unavailable();
}

async function existingDays(c: pg.Client): Promise<number[]> {
  const r = await c.query<{ name: string }>(
    `SELECT child.relname AS name FROM pg_inherits
       JOIN pg_class parent ON parent.oid = pg_inherits.inhparent
       JOIN pg_class child ON child.oid = pg_inherits.inhrelid
       JOIN pg_namespace ns ON ns.oid = parent.relnamespace
     WHERE parent.relname = 'events' AND ns.nspname = $1`,
    [data.schema],
  );
  const days: number[] = [];
  for (const { name } of r.rows) {
    const m = /^events_p(\d{4})(\d{2})(\d{2})$/.exec(name);
    if (m) days.push(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) / 86_400_000);
  }
  return days;
}

function buffer(u: Uint8Array): Buffer {
  return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
}

const EVENT_NAMES = EVENT_COLUMNS.map(([c]) => c);

/** The one statement of a group commit (its CTEs run in one implicit transaction). */
function commitStatement(b: CommitBatch): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const p = (v: unknown, type: string): string => {
    params.push(v);
    return `$${params.length}::${type}`;
  };
  const ctes: string[] = [];
  let outcome = "'committed'";
  const ev = b.events;
  if (ev !== null) {
    ctes.push(
      `h AS (UPDATE head SET next_seq = ${p(ev.end, 'bigint')}, last_ts = GREATEST(last_ts, ${p(ev.maxTs, 'bigint')}) WHERE next_seq = ${p(ev.first, 'bigint')} RETURNING 1)`,
    );
    const arrays = EVENT_COLUMNS.map(([name, type], i) => {
      const col = ev.columns[i] ?? [];
      return p(name === 'leaf' ? (col as Uint8Array[]).map(buffer) : col, `${type}[]`);
    });
    const lexemes = p(ev.lexemes, 'text[]');
    ctes.push(
      `ev AS (INSERT INTO events (${EVENT_NAMES.join(', ')}, tsv)
        SELECT ${EVENT_NAMES.map((n) => `u.${n}`).join(', ')},
          CASE WHEN u.lexemes IS NULL THEN NULL ELSE array_to_tsvector(string_to_array(u.lexemes, ' ')) END
        FROM unnest(${arrays.join(', ')}, ${lexemes}) AS u(${EVENT_NAMES.join(', ')}, lexemes)
        WHERE EXISTS (SELECT 1 FROM h))`,
    );
    // A retried batch whose first attempt committed (its answer was lost) is found whole,
    // leaf for leaf; anything else that does not continue the head is refused.
    const seqIndex = EVENT_NAMES.indexOf('seq');
    const leafIndex = EVENT_NAMES.indexOf('leaf');
    outcome = `CASE WHEN EXISTS (SELECT 1 FROM h) THEN 'committed'
      WHEN (SELECT count(*) FROM events e JOIN unnest(${p(ev.columns[seqIndex], 'bigint[]')}, ${p(
        (ev.columns[leafIndex] as Uint8Array[]).map(buffer),
        'bytea[]',
      )}) AS k(seq, leaf) ON e.seq = k.seq AND e.leaf = k.leaf) = ${p(ev.end - ev.first, 'bigint')} THEN 'already'
      ELSE refuse(${p(`records from sequence ${ev.first} do not continue this store (another writer, or a store reset under a running gateway)`, 'text')}) END`;
  }
  if (b.nodes.level.length > 0) {
    ctes.push(
      `nd AS (INSERT INTO tree (level, idx, hash)
        SELECT * FROM unnest(${p(b.nodes.level, 'integer[]')}, ${p(b.nodes.index, 'bigint[]')}, ${p(b.nodes.hash.map(buffer), 'bytea[]')})
        ON CONFLICT (level, idx) DO UPDATE SET hash = excluded.hash)`,
    );
  }
  if (b.checkpoints.length > 0) {
    const c = b.checkpoints;
    ctes.push(
      `cp AS (INSERT INTO checkpoints (size, ts, root, note)
        SELECT * FROM unnest(${p(
          c.map((x) => x.size),
          'bigint[]',
        )}, ${p(
          c.map((x) => x.ts),
          'bigint[]',
        )}, ${p(
          c.map((x) => buffer(x.root)),
          'bytea[]',
        )}, ${p(
          c.map((x) => x.note),
          'text[]',
        )})
        ON CONFLICT (size) DO UPDATE SET ts = excluded.ts, root = excluded.root, note = excluded.note)`,
    );
  }
  if (b.meta.length > 0) {
    ctes.push(
      `mt AS (INSERT INTO meta (key, value)
        SELECT * FROM unnest(${p(
          b.meta.map(([k]) => k),
          'text[]',
        )}, ${p(
          b.meta.map(([, v]) => v),
          'text[]',
        )})
        ON CONFLICT (key) DO UPDATE SET value = excluded.value)`,
    );
  }
  return {
    sql: `${ctes.length > 0 ? `WITH ${ctes.join(',\n')}\n` : ''}SELECT ${outcome} AS outcome`,
    params,
  };
}

/** One group commit (partitions first if the batch needs new days). */
async function commit(c: pg.Client, b: CommitBatch): Promise<CommitResult> {
  if (b.days.length > 0) await createDayPartitions(c, 'events', b.days, eventDay, DDL_LOCK);
  const st = commitStatement(b);
  let r: pg.QueryResult<{ outcome: string }>;
  try {
    r = await c.query<{ outcome: string }>(st.sql, st.params);
  } catch (err) {
    // 23514 "no partition of relation found for row": a day partition the caller thought
    // existed was dropped (retention); create the batch's days and try once more.
    const ts = b.events?.columns[EVENT_COLUMNS.findIndex(([n]) => n === 'ts')];
    if ((err as { code?: string }).code !== '23514' || ts === undefined) throw err;
    const days = new Set((ts as string[]).map((t) => dayOf(BigInt(t))));
    await createDayPartitions(c, 'events', days, eventDay, DDL_LOCK);
    r = await c.query<{ outcome: string }>(st.sql, st.params);
  }
  return { outcome: r.rows[0]?.outcome === 'already' ? 'already' : 'committed' };
}

/**
 * A query the driver gave up on (query_timeout: no answer, e.g. a network partition) leaves
 * the connection with a query in flight; drop it so the next call reconnects.
 */
async function unstick<T>(c: pg.Client, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (err) {
    if (/query read timeout/i.test(errorMessage(err)) && client === c) {
      client = null;
      lastError = errorMessage(err);
      void c.end().catch(() => undefined);
    }
    throw err;
  }
}

serveBridge({
  async open(): Promise<{ days: number[] }> {
    try {
      client = await connect();
    } catch (err) {
      if (err instanceof PortwardenError) throw err;
      throw new PortwardenError('PW_ERR_STORE', { detail: `${data.redacted}: ${lastError}` });
    }
    if (data.readonly) return { days: [] };
    const today = dayOf(BigInt(Date.now()) * 1_000_000n);
    const have = new Set(await existingDays(client));
    const want = [today, today + 1].filter((d) => !have.has(d));
    if (want.length > 0) await createDayPartitions(client, 'events', want, eventDay, DDL_LOCK);
    return { days: [...have, ...want] };
  },

  async query(args: { sql: string; params: unknown[] }): Promise<Record<string, unknown>[]> {
    const c = live();
    const r = await unstick(c, c.query(args.sql, args.params));
    return r.rows as Record<string, unknown>[];
  },

  commit(b: CommitBatch): Promise<CommitResult> {
    const c = live();
    return unstick(c, commit(c, b));
  },

  async close(): Promise<null> {
    closing = true;
    const c = client;
    client = null;
    await reconnecting;
    if (c !== null) await c.end().catch(() => undefined);
    return null;
  },
});
