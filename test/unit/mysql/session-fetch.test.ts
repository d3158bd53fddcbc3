/**
 * Rows read through a cursor (COM_STMT_EXECUTE with CURSOR_TYPE_READ_ONLY, then
 * COM_STMT_FETCH): each fetch is an action like the execute (statement facts, asked of
 * policy) whose db-result counts that fetch's rows; the execute's db-result says it opened
 * a cursor. Server streams cut at every offset.
 */
import { describe, expect, it } from 'vitest';
import type { ActionFacts, Decision } from '../../../src/policy/action.js';
import { createMysqlSession } from '../../../src/protocols/mysql/index.js';
import type { ProtocolSession } from '../../../src/protocols/session.js';
import {
  columnDef,
  command,
  comPrepare,
  eof,
  err,
  handshakeResponse41,
  handshakeV10,
  int1,
  int4,
  ok,
  packet,
  prepareOk,
} from '../../helpers/mysql-builder.js';
import { chunkings } from '../../helpers/mysql-feed.js';
import {
  fakeContext,
  type FakeContext,
  type FakeOptions,
} from '../../helpers/mysql-fake-context.js';

const CURSOR_EXISTS = 0x0040;
const LAST_ROW_SENT = 0x0080;
const AUTOCOMMIT = 0x0002;

function get(input: unknown, path: string): unknown {
  let cur: unknown = input;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** COM_STMT_EXECUTE without parameters asking for a read-only cursor. */
const executeWithCursor = (id: number): Buffer =>
  command(0x17, Buffer.concat([int4(id), int1(0x01), int4(1)]));
const fetch = (id: number, rows: number): Buffer =>
  command(0x1c, Buffer.concat([int4(id), int4(rows)]));
/** A binary-protocol row of one INT column: header, null bitmap, value. */
const row = (seq: number, n: number): Buffer =>
  packet(seq, Buffer.concat([int1(0), int1(0), int4(n)]));

/** Logged in, `select id from orders` prepared as statement 3. */
function prepared(options: FakeOptions = {}): { ctx: FakeContext; s: ProtocolSession } {
  const ctx = fakeContext(options);
  const s = createMysqlSession(ctx);
  s.onServerData(packet(0, handshakeV10()));
  s.onClientData(packet(1, handshakeResponse41({ user: 'app', database: 'shop' })));
  s.onServerData(packet(2, ok()));
  s.onClientData(comPrepare('select id from orders'));
  s.onServerData(
    Buffer.concat([packet(1, prepareOk(3, 1, 0)), packet(2, columnDef('id')), packet(3, eof())]),
  );
  ctx.upstream.length = 0;
  ctx.client.length = 0;
  return { ctx, s };
}

const cursorOpened = Buffer.concat([
  packet(1, Buffer.from([1])),
  packet(2, columnDef('id')),
  packet(3, eof(CURSOR_EXISTS | AUTOCOMMIT)),
]);
const firstFetch = Buffer.concat([
  row(1, 10),
  row(2, 11),
  packet(3, eof(CURSOR_EXISTS | AUTOCOMMIT)),
]);
const lastFetch = Buffer.concat([
  row(1, 12),
  packet(2, eof(CURSOR_EXISTS | LAST_ROW_SENT | AUTOCOMMIT)),
]);

describe('MySQL session: cursor fetches', () => {
  it('records each fetch with its rows, linked to the execute, however the replies are cut', () => {
    const replies = Buffer.concat([cursorOpened, firstFetch, lastFetch]);
    for (const { name, chunks } of chunkings(replies)) {
      const { ctx, s } = prepared();
      s.onClientData(Buffer.concat([executeWithCursor(3), fetch(3, 2), fetch(3, 2)]));
      for (const c of chunks) s.onServerData(c);
      expect(ctx.clientBytes(), name).toEqual(replies);
      const queries = ctx.records.filter((r) => r.event.action === 'db-query');
      const results = ctx.actions('db-result');
      expect(
        queries.map((q) => get(q, 'db.operation')),
        name,
      ).toEqual(['SELECT', 'SELECT', 'SELECT']);
      expect(queries.map((q) => get(q, 'db.query.text'))).toEqual(
        Array(3).fill('select id from orders'),
      );
      expect(get(queries[0], 'db.query.fetch')).toBeUndefined();
      expect(queries.slice(1).map((q) => get(q, 'db.query.fetch'))).toEqual([
        { rows_requested: 2, execute_id: queries[0]?.id },
        { rows_requested: 2, execute_id: queries[0]?.id },
      ]);
      expect(results.map((r) => get(r, 'event.reference'))).toEqual(queries.map((q) => q.id));
      expect(results.map((r) => get(r, 'db.response.returned_rows'))).toEqual([0, 2, 1]);
      expect(results.map((r) => get(r, 'db.response.cursor_opened'))).toEqual([
        true,
        undefined,
        undefined,
      ]);
      expect(results.map((r) => get(r, 'event.outcome'))).toEqual([
        'success',
        'success',
        'success',
      ]);
      expect(ctx.decisions).toHaveLength(3);
    }
  });

  it('asks policy about each fetch with the statement facts; a denied fetch gets ERR 1142', () => {
    let allowed = 1;
    const decide = (action: ActionFacts): Decision =>
      allowed-- > 0 || action.protocol !== 'mysql'
        ? { verdict: 'allow', reason: 'ok' }
        : { verdict: 'deny', ruleId: 'no-orders', reason: 'rule no-orders' };
    const { ctx, s } = prepared({ decide });
    s.onClientData(executeWithCursor(3));
    s.onServerData(cursorOpened);
    ctx.client.length = 0;
    s.onClientData(fetch(3, 10));
    expect(ctx.upstream).toHaveLength(1); // the execute only
    expect(ctx.decisions[1]).toMatchObject({
      protocol: 'mysql',
      sqlClass: 'read',
      tables: ['orders'],
    });
    const reply = ctx.clientBytes();
    expect(reply.readUInt16LE(5)).toBe(1142);
    expect(reply[3]).toBe(1); // sequence id: the fetch's + 1
    const results = ctx.actions('db-result');
    expect(get(results[1], 'event.outcome')).toBe('failure');
    expect(get(results[1], 'db.response.error_number')).toBe(1142);
  });

  it("a fetch the server refuses (no open cursor) fails with the server's error", () => {
    const { ctx, s } = prepared();
    s.onClientData(fetch(3, 1));
    s.onServerData(packet(1, err(1421, 'HY000', 'The statement (3) has no open cursor.')));
    const [result] = ctx.actions('db-result');
    expect(get(result, 'event.outcome')).toBe('failure');
    expect(get(result, 'db.response.error_number')).toBe(1421);
    expect(get(ctx.actions('db-query')[0], 'db.query.fetch')).toEqual({ rows_requested: 1 });
  });

  it('a fetch of an unknown statement id is of unknown class to policy', () => {
    const { ctx, s } = prepared();
    s.onClientData(fetch(99, 1));
    expect(ctx.decisions[0]).toMatchObject({ sqlClass: 'unknown', operation: 'FETCH' });
  });
});
