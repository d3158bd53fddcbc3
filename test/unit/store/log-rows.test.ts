/**
 * Narrow log rows (sqlite-log-rows.ts): a record is written as sequence, time, id, action,
 * body and leaf, and its other columns are read from its body — by searches over the tail,
 * by row reads and by the index worker — equal to what the Recorder derived in memory.
 * Rows of a v4 log and pruned rows hold their own columns; a body that is not JSON does
 * not stop the index.
 */
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { EventInput, JsonObject } from '../../../src/audit/event.js';
import { Recorder, type RecordContext } from '../../../src/audit/recorder.js';
import { type TupleInput, buildTupleContext } from '../../../src/gateway/tuple-context.js';
import { type EventRow, SqliteStore } from '../../../src/store/index.js';
import { INDEXED_COLUMNS } from '../../../src/store/sqlite-schema.js';

const dir = mkdtempSync(join(tmpdir(), 'pw-log-rows-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const fresh = () => join(dir, `log-${n++}.db`);

/** Every searchable column of each index row, in sequence order. */
function indexed(store: SqliteStore): unknown[] {
  const db = new Database(store.indexPath, { readonly: true });
  const rows = db.prepare(`SELECT ${INDEXED_COLUMNS} FROM events_v3 ORDER BY seq`).all();
  db.close();
  return rows;
}

/** The stored values of the log's body columns (what a v5 writer leaves NULL). */
function storedColumns(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  const rows = db
    .prepare('SELECT listener, conn, src_ip, src_port, user, text, node FROM log_v3 ORDER BY seq')
    .raw(true)
    .all();
  db.close();
  return rows;
}

/** A row's columns without body and leaf (which the log returns as written). */
function columnsOf(r: EventRow | undefined): Partial<EventRow> {
  if (r === undefined) return {};
  const { body: _body, leafHash: _leaf, ...rest } = r;
  return rest;
}

/** A PostgreSQL connection's context as the gateway builds it, with `over` changed. */
function pgContext(over: Partial<TupleInput>): RecordContext {
  return buildTupleContext({
    listener: 'orders-db',
    protocol: 'postgres',
    ecsProtocol: 'postgresql',
    connectionId: 'c-1',
    source: { ip: '10.0.0.1', port: 50001 },
    destination: { ip: '10.0.0.9', port: 15432 },
    upstreamLocal: null,
    upstream: { ip: '10.0.1.1', port: 5432 },
    forwarded: null,
    policyVersion: undefined,
    user: null,
    ...over,
  });
}

const endpoint = fc.record({
  ip: fc.oneof(fc.ipV4(), fc.ipV6()),
  port: fc.integer({ min: 0, max: 65535 }),
});
const name = fc.string({ minLength: 1, maxLength: 12 });
const textPart: fc.Arbitrary<JsonObject> = fc.oneof(
  fc.record({ db: fc.record({ query: fc.record({ text: fc.string() }) }) }),
  fc.record({
    redis: fc.record({ command: name, key: fc.oneof(fc.string(), fc.integer()) }),
  }),
  fc.record({ redis: fc.record({ command: name }) }),
  fc.record({ url: fc.record({ path: fc.oneof(fc.string(), fc.integer()) }) }),
  fc.record({ db: fc.record({ query: fc.record({ text: fc.integer() }) }) }),
  fc.constant({}),
);

describe('narrow log rows', () => {
  it('columns read from the body equal the columns the Recorder derived, in the tail and in the index', () => {
    const path = fresh();
    const store = new SqliteStore(path, { indexer: 'none' });
    const recorder = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'node-a' });
    const appended: EventRow[] = [];
    recorder.onCommit((rows) => appended.push(...rows));
    fc.assert(
      fc.property(
        fc.record({
          listener: name,
          connectionId: name,
          source: endpoint,
          destination: endpoint,
          upstreamLocal: fc.option(endpoint, { nil: null }),
          upstream: endpoint,
          user: fc.option(name, { nil: null }),
          policyVersion: fc.option(name, { nil: undefined }),
        }),
        textPart,
        fc.option(fc.record({ id: name }), { nil: undefined }),
        fc.constantFrom('success', 'failure', undefined),
        (tuple, part, rule, outcome) => {
          const ctx = pgContext(tuple);
          const input = {
            event: {
              action: 'db-query',
              category: ['database'],
              type: ['access'],
              ...(outcome ? { outcome } : {}),
            },
            ...part,
            ...(rule ? { rule } : {}),
          } as EventInput;
          recorder.append(input, ctx);
          expect(recorder.flush()).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
    // The log holds none of them; reads from the tail give what the Recorder had in memory.
    expect(storedColumns(path).every((r) => (r as unknown[]).every((v) => v === null))).toBe(true);
    const fromTail = [...store.iterate(0)];
    expect(fromTail.map(columnsOf)).toEqual(appended.map((r) => columnsOf({ ...r })));
    for (const r of appended.slice(0, 20))
      expect(
        store.search({ connectionId: r.connectionId ?? '' }).rows.map(columnsOf),
      ).toContainEqual(columnsOf({ ...r }));
    // The index gets the same columns.
    const tailAnswers = appended
      .slice(0, 30)
      .map((r) => store.count({ sourceIp: r.sourceIp ?? '', port: r.sourcePort ?? 0 }));
    store.indexNow();
    expect(store.indexStatus().indexedUpto).toBe(appended.length);
    expect(
      appended
        .slice(0, 30)
        .map((r) => store.count({ sourceIp: r.sourceIp ?? '', port: r.sourcePort ?? 0 })),
    ).toEqual(tailAnswers);
    const fromIndex = indexed(store) as Record<string, unknown>[];
    expect(fromIndex.map((r) => [r.listener, r.user, r.text, r.up_local_port, r.rule])).toEqual(
      appended.map((r) => [r.listener, r.user, r.text, r.upstreamLocalPort, r.rule]),
    );
    recorder.close();
    store.close();
  });

  it('a v4 log keeps its rows as written; new rows are narrow; both are searched and indexed', () => {
    const path = fresh();
    const ctx = pgContext({ connectionId: 'c-old' });
    let store = new SqliteStore(path, { indexer: 'none' });
    let recorder = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'n' });
    for (let i = 0; i < 3; i++)
      recorder.append({ event: { action: 'db-query', category: [], type: [] } }, ctx);
    recorder.close();
    store.close();
    // What a v4 writer stored: every column, here with a user the body does not name (a
    // v4 row took the connection's user from the context).
    const db = new Database(path);
    db.exec(`UPDATE log_v3 SET listener = 'orders-db', conn = 'c-old', src_ip = '10.0.0.1',
      src_port = 50001, dst_ip = '10.0.0.9', dst_port = 15432, up_ip = '10.0.1.1', up_port = 5432,
      user = 'ctx-user', community_id = 'x', node = 'n'`);
    db.exec("UPDATE meta SET value = '4' WHERE key = 'schema_version'");
    db.close();

    store = new SqliteStore(path, { indexer: 'none' });
    expect(store.getMeta('schema_version')).toBe('5');
    recorder = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'n' });
    recorder.append({ event: { action: 'db-query', category: [], type: [] } }, ctx);
    recorder.close();
    expect(storedColumns(path)).toEqual([
      ...Array.from({ length: 3 }, () => [
        'orders-db',
        'c-old',
        '10.0.0.1',
        50001,
        'ctx-user',
        null,
        'n',
      ]),
      [null, null, null, null, null, null, null],
    ]);
    const answer = () => [
      store.count({ listener: 'orders-db' }),
      store.count({ user: 'ctx-user' }),
      store.search({ sourceIp: '10.0.0.1' }).rows.map((r) => [r.sequence, r.user, r.node]),
    ];
    const before = answer();
    expect(before).toEqual([
      4,
      3,
      [
        [3, null, 'n'],
        [2, 'ctx-user', 'n'],
        [1, 'ctx-user', 'n'],
        [0, 'ctx-user', 'n'],
      ],
    ]);
    store.indexNow();
    expect(answer()).toEqual(before);
    store.close();
  });

  it('a prune keeps a record’s columns in its row; a rebuilt index still finds it', () => {
    const path = fresh();
    const store = new SqliteStore(path, { indexer: 'none' });
    const recorder = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'n' });
    const ctx = pgContext({
      listener: 'cache',
      protocol: 'redis',
      ecsProtocol: 'redis',
      source: { ip: '10.0.0.2', port: 50002 },
      destination: { ip: '10.0.0.9', port: 16379 },
      upstreamLocal: { ip: '10.0.0.9', port: 40002 },
      upstream: { ip: '10.0.1.2', port: 6379 },
      policyVersion: 'sha256:v1',
      user: 'alice',
    });
    recorder.append(
      {
        event: { action: 'redis-command', category: [], type: [] },
        redis: { command: 'GET', key: 'k' },
      },
      ctx,
    );
    recorder.close();
    const before = columnsOf(store.getBySequence(0));
    expect(before).toMatchObject({
      listener: 'cache',
      user: 'alice',
      text: 'GET k',
      operation: 'GET',
    });
    expect(store.pruneBodies(BigInt(Date.now() + 60_000) * 1_000_000n)?.count).toBe(1);
    const after = store.getBySequence(0);
    expect(after?.body).toBeNull();
    expect(columnsOf(after)).toEqual({ ...before, text: null });
    // The index file is derived: delete it and the rebuilt one still has the columns.
    store.close();
    rmSync(`${path.slice(0, -3)}.index.db`, { force: true });
    const reopened = new SqliteStore(path, { indexer: 'none' });
    reopened.indexNow();
    expect(reopened.count({ listener: 'cache', user: 'alice', port: 50002 })).toBe(1);
    expect(reopened.count({ text: 'GET' })).toBe(0);
    reopened.close();
  });

  it('a body that is not JSON (tampering) reads as no columns and does not stop the index', () => {
    const path = fresh();
    const store = new SqliteStore(path, { indexer: 'none' });
    const recorder = new Recorder(store, { mode: 'async', flushMs: 1000, observer: 'n' });
    for (let i = 0; i < 5; i++)
      recorder.append(
        { event: { action: 'db-query', category: [], type: [] }, db: { query: { text: `q${i}` } } },
        pgContext({
          listener: 'db',
          connectionId: `c-${i}`,
          source: { ip: '10.0.0.1', port: 50000 + i },
        }),
      );
    recorder.close();
    const db = new Database(path);
    db.prepare("UPDATE log_v3 SET body = '{not json' WHERE seq = 2").run();
    db.close();
    expect(store.search({ listener: 'db' }).rows.map((r) => r.sequence)).toEqual([4, 3, 1, 0]);
    expect(store.getBySequence(2)).toMatchObject({
      action: 'db-query',
      listener: null,
      text: null,
    });
    store.indexNow();
    expect(store.indexStatus().indexedUpto).toBe(5);
    expect(store.search({ listener: 'db' }).rows.map((r) => r.sequence)).toEqual([4, 3, 1, 0]);
    expect(store.count({ text: 'q3' })).toBe(1);
    store.close();
  });
});
