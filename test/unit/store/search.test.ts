/**
 * What only the embedded (SQLite) store has: the FTS index and the in-memory tail that answer
 * text searches, EXPLAIN QUERY PLAN, and the v1 schema migration. Everything both backends
 * must answer alike is in conformance-search.test.ts.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canonicalJson } from '../../../src/audit/canonical.js';
import { type EventFilter, SqliteStore } from '../../../src/store/index.js';
import { CASES } from './cases.js';
import { buildDataset, type Dataset } from './dataset.js';
import { expectNewestTextFoundAtOnce } from './newest-text.js';

let ds: Dataset;
beforeAll(() => {
  ds = buildDataset();
});
afterAll(() => ds.store.close());

describe('FTS index and in-memory tail', () => {
  // The store adds text to the FTS index in batches; until then the newest records are
  // matched in memory. Both paths, and a split between them, give the same answers.
  it('text filters give the same answers from the FTS index, the in-memory tail and both', () => {
    const textCases = CASES.filter(([, f]) => f.text !== undefined);
    const answers = (d: Dataset) =>
      textCases.map(([, f]) => [
        d.store.search({ order: 'oldest', limit: 1000, ...f }).rows.map((r) => r.sequence),
        d.store.search({ order: 'newest', limit: 2, ...f }).rows.map((r) => r.sequence),
        d.store.count(f),
        d.store.groupBy(f, 'listener'),
      ]);
    const tailOnly = buildDataset();
    const indexed = buildDataset();
    indexed.store.indexNow();
    const expected = textCases.map(([, , e]) => e);
    expect(answers(tailOnly).map((a) => a[0])).toEqual(expected);
    expect(answers(indexed)).toEqual(answers(tailOnly));
    expect(indexed.store.explain({ text: 'orders' }).join(' ')).toContain('VIRTUAL TABLE INDEX');
    tailOnly.store.close();
    indexed.store.close();
  });

  it('a page that spans the indexed records and the newer tail', () => {
    const d = buildDataset();
    d.store.indexNow();
    expectNewestTextFoundAtOnce(d);
    d.store.close();
  });
});

describe('query plans', () => {
  it('EXPLAIN QUERY PLAN: who and filtered searches use indexes, never a full scan', () => {
    const who = ds.store.explain('who').join('\n');
    expect(who).toContain('events_v3_open_client');
    expect(who).toContain('events_v3_open_upstream');
    expect(who).toContain('events_v3_close_conn');
    const filters: EventFilter[] = [
      { listener: 'orders-db' },
      { user: 'app' },
      { sourceIp: '10.0.0.1', sourcePort: 50001 },
      { connectionId: 'c1' },
      { communityId: '1:c1-client' },
      { rule: 'no-delete' },
      { status: '42501' },
      { statementClass: 'ddl' },
      { text: 'orders' },
      { sinceNs: ds.afterC1, actions: ['db-query'] },
    ];
    for (const f of filters) {
      const plan = ds.store.explain(f);
      expect(
        plan.some((d) => /USING (COVERING )?INDEX|VIRTUAL TABLE INDEX|INTEGER PRIMARY KEY/.test(d)),
        JSON.stringify({ f, plan }, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v)),
      ).toBe(true);
      expect(
        plan.filter((d) => /^SCAN e$/.test(d)),
        JSON.stringify(plan),
      ).toEqual([]);
    }
  });
});

describe('schema', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'pw-store-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('migrates a v1 store: rows copied with derived columns, text indexed, v1 dropped', () => {
    const path = join(dir, 'v1.db');
    const db = new Database(path);
    db.exec(`CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      INSERT INTO meta VALUES ('schema_version', '1');
      CREATE TABLE events_v1 (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL, id TEXT NOT NULL,
        action TEXT NOT NULL, outcome TEXT, listener TEXT, conn TEXT, src_ip TEXT, src_port INTEGER,
        dst_ip TEXT, dst_port INTEGER, up_local_ip TEXT, up_local_port INTEGER, up_ip TEXT,
        up_port INTEGER, user TEXT, community_id TEXT, text TEXT, body TEXT, leaf BLOB NOT NULL);`);
    const body = canonicalJson({
      db: { namespace: 'orders', operation: 'SELECT', query: { class: 'read', text: 'select 1' } },
      event: { action: 'db-query', sequence: 0 },
      observer: { id: 'n1' },
      rule: { id: 'r1' },
      upstream: { community_id: '1:up' },
    });
    db.prepare(
      `INSERT INTO events_v1 VALUES (0, 5, 'id0', 'db-query', 'success', 'db', 'c', '10.0.0.1', 1, NULL, NULL, NULL, NULL, NULL, NULL, 'app', '1:cl', 'select 1', ?, x'00')`,
    ).run(body);
    db.close();
    const store = new SqliteStore(path);
    const row = store.getBySequence(0);
    expect(row).toMatchObject({
      rule: 'r1',
      dbNamespace: 'orders',
      operation: 'SELECT',
      statementClass: 'read',
      node: 'n1',
      upstreamCommunityId: '1:up',
      user: 'app',
    });
    expect(store.count({ text: 'select' })).toBe(1);
    expect(store.getMeta('schema_version')).toBe('5');
    store.close();
    const check = new Database(path, { readonly: true });
    expect(
      check.prepare("SELECT name FROM sqlite_master WHERE name = 'events_v1'").get(),
    ).toBeUndefined();
    check.close();
    const reader = new SqliteStore(path, { readonly: true });
    expect(reader.count({ rule: 'r1' })).toBe(1);
    reader.close();
  });
});
