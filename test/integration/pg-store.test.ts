/**
 * What only the PostgreSQL store has to get right (the Store contract itself is in
 * test/unit/store/conformance-*.test.ts): one writer per store, commits that must continue
 * the stored sequence (and a retried commit that already landed), day partitions, a server
 * that goes away and comes back (through a TCP proxy this test controls), schema versions,
 * read-only opens, config validation and passwords kept out of messages.
 */
import net from 'node:net';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Recorder } from '../../src/audit/recorder.js';
import { parseConfigText } from '../../src/config/index.js';
import { PortwardenError } from '../../src/errors.js';
import { PostgresStore } from '../../src/store/index.js';
import { eventRow } from '../helpers/event-row.js';
import { until } from '../helpers/wait.js';

const PG_URL = 'postgres://postgres@127.0.0.1:5432/test';
const schemas: string[] = [];
const stores: PostgresStore[] = [];
let n = 0;

function schemaName(): string {
  const s = `pw_pgstore_${process.pid}_${n++}`;
  schemas.push(s);
  return s;
}

function open(url: string, options: ConstructorParameters<typeof PostgresStore>[1] = {}) {
  const s = new PostgresStore(url, options);
  stores.push(s);
  return s;
}

async function sql<T extends pg.QueryResultRow>(text: string, params: unknown[] = []) {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<T>(text, params)).rows;
  } finally {
    await c.end();
  }
}

afterAll(async () => {
  for (const s of stores) s.close();
  for (const s of schemas) await sql(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
});

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof PortwardenError ? `${err.code}: ${err.message}` : String(err);
  }
  return 'no error';
}

const NOW = BigInt(Date.now()) * 1_000_000n;

/**
 * A TCP proxy to the local PostgreSQL that can cut every connection and refuse new ones. It
 * runs in a worker thread: this thread blocks inside every store call, so a proxy on its
 * event loop would never forward the store's traffic.
 */
const PROXY = `
const net = require('node:net');
const { parentPort } = require('node:worker_threads');
const sockets = new Set();
let up = true;
const server = net.createServer((c) => {
  if (!up) return c.destroy();
  const u = net.connect(5432, '127.0.0.1');
  for (const s of [c, u]) {
    sockets.add(s);
    s.on('error', () => undefined);
    s.on('close', () => { sockets.delete(s); c.destroy(); u.destroy(); });
  }
  c.pipe(u);
  u.pipe(c);
  if (stalled) { c.pause(); u.pause(); }
});
server.listen(0, '127.0.0.1', () => parentPort.postMessage(server.address().port));
let stalled = false;
parentPort.on('message', (m) => {
  if (m === 'cut') { up = false; for (const s of sockets) s.destroy(); }
  if (m === 'restore') up = true;
  if (m === 'stall') { stalled = true; for (const s of sockets) s.pause(); }
  if (m === 'resume') { stalled = false; for (const s of sockets) s.resume(); }
  parentPort.postMessage(m);
});
`;

async function proxy() {
  const w = new Worker(PROXY, { eval: true });
  const next = () => new Promise<unknown>((r) => w.once('message', r));
  const port = Number(await next());
  const send = async (m: string) => {
    const done = next();
    w.postMessage(m);
    await done;
  };
  return {
    port,
    cut: () => send('cut'),
    restore: () => send('restore'),
    /** Keep every connection open but forward nothing (a network partition). */
    stall: () => send('stall'),
    resume: () => send('resume'),
    close: () => w.terminate(),
  };
}

describe('the PostgreSQL store', () => {
  it('has one writer at a time; readers are not writers', () => {
    const url = `${PG_URL}?schema=${schemaName()}`;
    const a = open(url);
    expect(code(() => open(url))).toContain('another portwarden process is writing this store');
    const reader = open(url, { readonly: true });
    expect(reader.count({})).toBe(0);
    a.close();
    const b = open(url);
    expect(b.nextSequence()).toBe(0);
  });

  it('refuses a commit that does not continue the stored sequence, and accepts a retried one', () => {
    const store = open(`${PG_URL}?schema=${schemaName()}`);
    expect(
      code(() =>
        store.transaction(() => {
          store.insertEvent(eventRow(0, NOW));
          store.insertEvent(eventRow(2, NOW + 1n));
        }),
      ),
    ).toContain('consecutive sequences');
    expect(code(() => store.insertEvent(eventRow(5, NOW)))).toContain(
      'records from sequence 5 do not continue this store',
    );
    expect(store.nextSequence()).toBe(0);
    const batch = [eventRow(0, NOW), eventRow(1, NOW + 1n)];
    store.transaction(() => batch.forEach((r) => store.insertEvent(r)));
    // The same batch again (a commit whose answer was lost, retried by the Recorder) is a
    // no-op; a different record claiming a stored sequence is refused.
    store.transaction(() => batch.forEach((r) => store.insertEvent(r)));
    expect(store.count({})).toBe(2);
    expect([...store.iterate()].map((r) => r.sequence)).toEqual([0, 1]);
    expect(
      code(() => store.insertEvent(eventRow(1, NOW + 1n, { body: { note: 'forged' } }))),
    ).toContain('records from sequence 1 do not continue this store');
    store.insertEvent(eventRow(2, NOW + 2n));
    expect(store.nextSequence()).toBe(3);
  });

  it('creates a day partition (and the next day’s) when a day’s first record arrives', async () => {
    const schema = schemaName();
    const store = open(`${PG_URL}?schema=${schema}`);
    const day = 86_400_000_000_000n;
    const jan1 = BigInt(Date.UTC(2024, 0, 1)) * 1_000_000n;
    store.transaction(() => {
      store.insertEvent(eventRow(0, jan1 + 5n));
      store.insertEvent(eventRow(1, jan1 + 3n * day + 5n));
    });
    const parts = await sql<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
         JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace s ON s.oid = p.relnamespace
       WHERE s.nspname = $1 AND p.relname = 'events' ORDER BY 1`,
      [schema],
    );
    const names = parts.map((p) => p.name);
    for (const d of ['20240101', '20240102', '20240104', '20240105'])
      expect(names).toContain(`events_p${d}`);
    const [counts] = await sql<{ a: string; b: string }>(
      `SELECT (SELECT count(*) FROM ${schema}.events_p20240101) AS a,
              (SELECT count(*) FROM ${schema}.events_p20240104) AS b`,
    );
    expect([Number(counts?.a), Number(counts?.b)]).toEqual([1, 1]);
    expect(store.count({ sinceNs: jan1 + day, untilNs: jan1 + 4n * day })).toBe(1);
    // A partition dropped under the running store (retention) is created again when needed.
    await sql(`DROP TABLE ${schema}.events_p20240105`);
    store.insertEvent(eventRow(2, jan1 + 4n * day + 5n));
    expect(store.count({ sinceNs: jan1 + 4n * day })).toBe(1);
  });

  it('answers at once while the server is unreachable, and commits what waited once it is back', async () => {
    const p = await proxy();
    try {
      const store = open(`postgres://postgres@127.0.0.1:${p.port}/test?schema=${schemaName()}`);
      const rec = new Recorder(store, { mode: 'strict', flushMs: 10, observer: 'n1' });
      rec.append({ event: { action: 'db-query', category: ['database'], type: ['access'] } });
      expect(rec.flush()).toBe(true);
      await p.cut();
      rec.append({ event: { action: 'db-result', category: ['database'], type: ['access'] } });
      const started = Date.now();
      expect(rec.flush()).toBe(false);
      expect(rec.flush()).toBe(false);
      expect(Date.now() - started).toBeLessThan(2000);
      expect(rec.lastStoreError).toContain('audit store cannot take records');
      expect(code(() => store.count({}))).toContain('reconnecting');
      await p.restore();
      await until(() => rec.flush(), 15_000, 'the store to accept the waiting record');
      expect([...store.iterate()].map((r) => [r.sequence, r.action])).toEqual([
        [0, 'db-query'],
        [1, 'db-result'],
      ]);
      rec.close();
    } finally {
      await p.close();
    }
  });

  it('a connection that stops answering is dropped and replaced', async () => {
    const p = await proxy();
    try {
      const store = open(`postgres://postgres@127.0.0.1:${p.port}/test?schema=${schemaName()}`, {
        timeoutMs: 4000,
      });
      expect(store.count({})).toBe(0);
      await p.stall();
      const started = Date.now();
      expect(code(() => store.count({}))).toContain('PW_ERR_STORE');
      expect(Date.now() - started).toBeLessThan(6000);
      await p.resume();
      let answer = -1;
      await until(
        () => {
          try {
            answer = store.count({});
            return true;
          } catch {
            return false;
          }
        },
        15_000,
        'a new connection',
      );
      expect(answer).toBe(0);
    } finally {
      await p.close();
    }
  });

  it('a call that gets no answer in time fails instead of blocking for ever', async () => {
    // Accepts connections and never answers.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as net.AddressInfo).port;
    try {
      const started = Date.now();
      const err = code(() => open(`postgres://u@127.0.0.1:${port}/test`, { timeoutMs: 2000 }));
      expect(err).toContain('PW_ERR_STORE');
      expect(Date.now() - started).toBeLessThan(8000);
    } finally {
      silent.close();
    }
  });

  it('refuses a store written by a newer build, and a reader of a store that does not exist', async () => {
    const schema = schemaName();
    open(`${PG_URL}?schema=${schema}`).close();
    await sql(
      `INSERT INTO ${schema}.schema_migrations (version, description) VALUES (99, 'future')`,
    );
    expect(code(() => open(`${PG_URL}?schema=${schema}`))).toContain('PW_ERR_STORE_SCHEMA');
    expect(code(() => open(`${PG_URL}?schema=${schema}`, { readonly: true }))).toContain(
      'PW_ERR_STORE_SCHEMA',
    );
    expect(
      code(() => open(`${PG_URL}?schema=pw_never_created_${process.pid}`, { readonly: true })),
    ).toContain('PW_ERR_NOT_FOUND');
  });

  it('keeps the password out of its messages', () => {
    const err = code(() => open('postgres://postgres:s3cret-pw@127.0.0.1:1/test?schema=x'));
    expect(err).toContain('PW_ERR_STORE');
    expect(err).toContain('***');
    expect(err).not.toContain('s3cret-pw');
  });
});

describe('store: in the config', () => {
  const issues = (store: string) => {
    const r = parseConfigText(`store: ${JSON.stringify(store)}\n`);
    return r.ok ? [] : r.issues.map((i) => i.message);
  };
  it('accepts postgres:// URLs with a schema name and refuses anything else', () => {
    expect(issues('postgres://pw@db.internal:5432/audit')).toEqual([]);
    expect(issues('postgresql://pw@db/audit?schema=gw_1&sslmode=require')).toEqual([]);
    expect(issues('mysql://pw@db/audit').join()).toContain('expected postgres://');
    expect(issues('postgres://pw@db/audit?schema=Bad-Name').join()).toContain('schema must match');
    expect(issues('not a url').join()).toContain('not a valid postgres:// URL');
  });
});
