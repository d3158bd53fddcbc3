/**
 * Per-connection insert statements (sqlite-context-insert.ts) store exactly what the
 * generic insert stores: the same values with the same SQLite types, whatever the rows.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type EventRow, SqliteStore } from '../../../src/store/index.js';
import { ContextInserts } from '../../../src/store/sqlite-context-insert.js';
import { LOG_SCHEMA_SQL } from '../../../src/store/sqlite-schema.js';
import { eventRow } from '../../helpers/event-row.js';

type Tuple = Partial<EventRow>;

const T0 = 1_700_000_000_000_000_000n;

const tuple = (listener: string, port: number): Tuple => ({
  listener,
  connectionId: `c-${listener}`,
  sourceIp: '10.0.0.1',
  sourcePort: port,
  destinationIp: '10.0.0.2',
  destinationPort: 15432,
  upstreamLocalIp: '10.0.0.2',
  upstreamLocalPort: 40000,
  upstreamIp: '10.0.0.3',
  upstreamPort: 5432,
  communityId: `1:${listener}`,
  user: 'app',
});

/** Every stored value of the log with its SQLite type, in sequence order. */
function dump(path: string): unknown[] {
  const db = new Database(path, { readonly: true });
  const columns = (
    db.prepare('SELECT name FROM pragma_table_info(?)').pluck().all('log_v3') as string[]
  )
    .map((c) => `${c}, typeof(${c})`)
    .join(', ');
  const rows = db.prepare(`SELECT ${columns} FROM log_v3 ORDER BY seq`).raw(true).all();
  db.close();
  return rows;
}

describe('per-connection insert statements', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-context-insert-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('store what the generic insert stores, for any mix of connections and rows', () => {
    const a = tuple('orders-db', 51000);
    const quoted = tuple("o'brien's db", 51001);
    const accented = tuple('café', 51002);
    const contexts = [{}, {}, {}, {}];
    const rows: [EventRow, object | undefined][] = [];
    for (let i = 0; i < 400; i++) {
      const which = i % 4;
      let fields: Tuple = which === 0 ? a : which === 1 ? quoted : which === 2 ? accented : {};
      // The same connection object with other values now and then: those rows must keep theirs.
      if (which === 0 && i % 40 === 0) fields = { ...a, sourcePort: 60000 + i, listener: null };
      const body =
        i % 3 === 0
          ? { observer: { id: 'node-a' }, db: { operation: 'select', query: { class: 'read' } } }
          : { observer: { id: i % 5 === 0 ? 'node-b' : 'node-a' } };
      rows.push([
        eventRow(i, T0 + BigInt(i), { fields: { ...fields, text: `SELECT ${i}` }, body }),
        which === 3 && i % 8 === 3 ? undefined : contexts[which],
      ]);
    }
    const withContext = join(dir, 'with.db');
    const without = join(dir, 'without.db');
    const s1 = new SqliteStore(withContext, { indexer: 'none' });
    const s2 = new SqliteStore(without, { indexer: 'none' });
    s1.transaction(() => {
      for (const [row, context] of rows) s1.insertEvent(row, context);
    });
    s2.transaction(() => {
      for (const [row] of rows) s2.insertEvent(row);
    });
    expect([...s1.iterate(0, 400)]).toEqual([...s2.iterate(0, 400)]);
    s1.close();
    s2.close();
    expect(dump(withContext)).toEqual(dump(without));
  });

  it('prepares a statement only for a busy connection with plain values, and keeps at most 256', () => {
    const db = new Database(':memory:');
    db.exec(LOG_SCHEMA_SQL);
    const inserts = new ContextInserts(db, 'log_v3');
    const derived = { node: 'n' };
    let seq = 0;
    const write = (context: object, fields: Tuple, times: number): number => {
      let viaContext = 0;
      for (let i = 0; i < times; i++) {
        const row = eventRow(seq++, T0, { fields });
        if (inserts.insert(row, derived, context)) viaContext++;
        else
          db.prepare('INSERT INTO log_v3 (seq, ts, id, action, leaf) VALUES (?, ?, ?, ?, ?)').run(
            row.sequence,
            row.timestampNs,
            row.id,
            row.action,
            row.leafHash,
          );
      }
      return viaContext;
    };
    // 32 records to earn a statement; the rest go through it.
    expect(write({}, tuple('busy', 1), 100)).toBe(68);
    expect(inserts.size).toBe(1);
    expect(write({}, tuple('quiet', 1), 10)).toBe(0);
    expect(write({}, tuple('naïve', 1), 100)).toBe(0);
    expect(write({}, { ...tuple('nul', 1), listener: 'a\u0000b' }, 100)).toBe(0);
    expect(inserts.size).toBe(1);
    for (let c = 0; c < 300; c++) write({}, tuple(`l${c}`, c), 33);
    expect(inserts.size).toBeLessThanOrEqual(256);
    expect(inserts.size).toBeGreaterThan(0);
    db.close();
  });
});
