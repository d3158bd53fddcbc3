/** The MySQL session against a fake context: records, forwarding, edits, denials, errors. */
import { describe, expect, it } from 'vitest';
import type { EventInput } from '../../../src/audit/event.js';
import { createMysqlSession } from '../../../src/protocols/mysql/index.js';
import type { ProtocolSession } from '../../../src/protocols/session.js';
import {
  CAP,
  CLIENT_CAPS,
  comChangeUser,
  comClose,
  comExecute,
  comInitDb,
  comPing,
  comPrepare,
  comQuery,
  columnDef,
  eof,
  err,
  handshakeResponse41,
  handshakeV10,
  int4,
  int8,
  lenencStr,
  ok,
  packet,
  prepareOk,
  SERVER_CAPS,
  sslRequest,
  str,
  textResultSet,
} from '../../helpers/mysql-builder.js';
import { chunkings } from '../../helpers/mysql-feed.js';
import { fakeContext } from '../../helpers/mysql-fake-context.js';
import type { FakeContext, FakeOptions } from '../../helpers/mysql-fake-context.js';

const MORE = 0x0008;

function field(input: EventInput | undefined, path: string): unknown {
  let cur: unknown = input;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** A session past the handshake and login. */
function loggedIn(
  options: FakeOptions = {},
  clientCaps = CLIENT_CAPS,
): { ctx: FakeContext; s: ProtocolSession } {
  const ctx = fakeContext(options);
  const s = createMysqlSession(ctx);
  s.onServerData(packet(0, handshakeV10()));
  s.onClientData(
    packet(1, handshakeResponse41({ capabilities: clientCaps, user: 'app', database: 'orders' })),
  );
  s.onServerData(packet(2, ok()));
  ctx.upstream.length = 0;
  ctx.client.length = 0;
  return { ctx, s };
}

describe('MySQL session: connection phase', () => {
  it('strips compression from the greeting in place (2-byte edits) and records db-login after OK', () => {
    const ctx = fakeContext();
    const s = createMysqlSession(ctx);
    const greeting = packet(0, handshakeV10({ capabilities: SERVER_CAPS }));
    // The edit is made in the forwarded bytes themselves: feed a copy to compare with.
    s.onServerData(Buffer.from(greeting));
    const seen = ctx.clientBytes();
    expect(seen.length).toBe(greeting.length);
    const lower = seen.readUInt16LE(4 + 1 + 23 + 4 + 9);
    expect(lower & CAP.COMPRESS).toBe(0);
    expect(lower & CAP.SSL).toBe(0); // no TLS configured: not offered
    expect(lower & CAP.PROTOCOL_41).not.toBe(0);
    // Only the capability words changed.
    const diff = [...seen].flatMap((b, i) => (b === greeting[i] ? [] : [i]));
    expect(diff.length).toBeGreaterThan(0);
    // Lower capability word at 41-42, upper at 46-47 (version string is 23 bytes here).
    expect(diff.every((i) => [41, 42, 46, 47].includes(i))).toBe(true);
    expect(ctx.annotations).toEqual([
      { mysql: { connection_id: 42, server_version: '5.5.5-10.11.19-MariaDB' } },
    ]);

    const response = packet(1, handshakeResponse41({ user: 'alice', database: 'orders' }));
    s.onClientData(response);
    expect(ctx.upstreamBytes()).toEqual(response);
    expect(ctx.identity).toEqual({ user: 'alice', database: 'orders', application: 'billing' });
    expect(ctx.actions('db-login')).toHaveLength(0);
    s.onServerData(packet(2, ok()));
    const login = ctx.actions('db-login')[0];
    expect(field(login, 'event.outcome')).toBe('success');
    expect(field(login, 'db.user')).toBe('alice');
    expect(field(login, 'db.namespace')).toBe('orders');
    expect(field(login, 'db.login.program_name')).toBe('billing');
    expect(JSON.stringify(login)).not.toContain('0123456789abcdefghij'); // the auth response
  });

  it('records a failed login with the error', () => {
    const ctx = fakeContext();
    const s = createMysqlSession(ctx);
    s.onServerData(packet(0, handshakeV10()));
    s.onClientData(packet(1, handshakeResponse41({ user: 'mallory' })));
    s.onServerData(
      packet(
        2,
        Buffer.concat([
          Buffer.from([0xfe]),
          str('mysql_native_password\0'),
          str('01234567890123456789\0'),
        ]),
      ),
    );
    s.onClientData(packet(3, str('scrambled-password')));
    s.onServerData(packet(4, err(1045, '28000', "Access denied for user 'mallory'")));
    const login = ctx.actions('db-login')[0];
    expect(field(login, 'event.outcome')).toBe('failure');
    expect(field(login, 'db.response.error_number')).toBe(1045);
    expect(field(login, 'db.response.status_code')).toBe('28000');
  });

  it('with TLS configured: offers CLIENT_SSL, starts TLS on SSLRequest without forwarding it, shifts auth sequence ids', () => {
    const ctx = fakeContext({ tls: true });
    const s = createMysqlSession(ctx);
    s.onServerData(packet(0, handshakeV10({ capabilities: SERVER_CAPS & ~CAP.SSL })));
    expect(ctx.clientBytes().readUInt16LE(4 + 1 + 23 + 4 + 9) & CAP.SSL).toBe(CAP.SSL);
    s.onClientData(packet(1, sslRequest()));
    expect(ctx.tlsStarted).toBe(1);
    expect(ctx.upstream).toHaveLength(0);
    s.onClientData(packet(2, handshakeResponse41({ capabilities: CLIENT_CAPS | CAP.SSL })));
    const forwarded = ctx.upstreamBytes();
    expect(forwarded[3]).toBe(1); // the server never saw the SSLRequest
    expect(forwarded.readUInt32LE(4) & CAP.SSL).toBe(0); // gateway→server leg is plain
    ctx.client.length = 0;
    s.onServerData(packet(2, ok()));
    expect(ctx.clientBytes()[3]).toBe(3); // the client counts the SSLRequest
    expect(field(ctx.actions('db-login')[0], 'event.outcome')).toBe('success');
  });

  it('refuses an SSLRequest when TLS was not offered: ERR 1047 (08S01), then close', () => {
    const ctx = fakeContext();
    const s = createMysqlSession(ctx);
    s.onServerData(packet(0, handshakeV10()));
    ctx.client.length = 0;
    s.onClientData(packet(1, sslRequest()));
    const reply = ctx.clientBytes();
    expect(reply[4]).toBe(0xff);
    expect(reply.readUInt16LE(5)).toBe(1047);
    expect(reply.subarray(8, 13).toString()).toBe('08S01');
    expect(ctx.closed?.reason).toBe('protocol-error');
    expect(ctx.upstream).toHaveLength(0);
  });

  it('clears bits the greeting did not offer from the HandshakeResponse (mysql2 sets query attributes blindly)', () => {
    const ctx = fakeContext();
    const s = createMysqlSession(ctx);
    s.onServerData(packet(0, handshakeV10()));
    s.onClientData(
      packet(
        1,
        handshakeResponse41({ capabilities: CLIENT_CAPS | CAP.COMPRESS | CAP.QUERY_ATTRIBUTES }),
      ),
    );
    expect(ctx.closed).toBeNull();
    expect(ctx.upstreamBytes().readUInt32LE(4)).toBe(CLIENT_CAPS);
  });
});

describe('MySQL session: queries', () => {
  const exchange = {
    query: comQuery(
      "select * from orders; update orders set paid = 1 where id = 7; CREATE USER x IDENTIFIED BY 'pw'",
    ),
    reply: Buffer.concat([
      textResultSet(1, ['id'], [['1'], ['2']], { status: 2 | MORE }),
      packet(6, ok({ affected: 1, status: 2 | MORE })),
      packet(7, ok()),
    ]),
  };

  it.each(chunkings(exchange.reply))(
    'records each statement before forwarding and matches results in order, reply fed $name',
    ({ chunks }) => {
      const { ctx, s } = loggedIn();
      s.onClientData(exchange.query);
      expect(ctx.upstreamBytes()).toEqual(exchange.query);
      const queries = ctx.actions('db-query');
      expect(queries.map((q) => field(q, 'db.operation'))).toEqual([
        'SELECT',
        'UPDATE',
        'CREATE USER',
      ]);
      expect(queries.map((q) => field(q, 'db.query.class'))).toEqual(['read', 'write', 'dcl']);
      expect(field(queries[2], 'db.query.text')).toBe("CREATE USER x IDENTIFIED BY '***'");
      expect(field(queries[0], 'db.namespace')).toBe('orders');
      expect(field(queries[0], 'db.system')).toBe('mysql');
      for (const c of chunks) s.onServerData(c);
      expect(ctx.clientBytes()).toEqual(exchange.reply);
      const results = ctx.actions('db-result');
      const ids = ctx.records.filter((r) => r.event.action === 'db-query').map((r) => r.id);
      expect(results.map((r) => r.event.reference)).toEqual(ids);
      expect(results.map((r) => field(r, 'db.response.returned_rows'))).toEqual([2, 0, 0]);
      expect(results.map((r) => field(r, 'db.response.affected_rows'))).toEqual([0, 1, 0]);
      expect(results.every((r) => field(r, 'db.response.status_code') === '00000')).toBe(true);
      expect(
        results.every((r) => typeof r.event.duration === 'number' && r.event.duration > 0),
      ).toBe(true);
    },
  );

  it('records the error and marks later statements of the same query not executed', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(comQuery('select 1; select * from nope; select 3'));
    s.onServerData(
      Buffer.concat([
        textResultSet(1, ['1'], [['1']], { status: 2 | MORE }),
        packet(5, err(1146, '42S02', "Table 'nope' doesn't exist")),
      ]),
    );
    const results = ctx.actions('db-result');
    expect(results.map((r) => r.event.outcome)).toEqual(['success', 'failure', 'unknown']);
    expect(field(results[1], 'db.response.error_number')).toBe(1146);
    expect(field(results[1], 'db.response.status_code')).toBe('42S02');
    expect(field(results[1], 'error.message')).toBe("Table 'nope' doesn't exist");
  });

  it('denies by policy: no bytes forwarded, ERR 1142 (42000) with the command sequence + 1, session goes on', () => {
    const { ctx, s } = loggedIn({
      decide: (a) =>
        a.protocol === 'mysql' && a.sqlClass === 'ddl'
          ? { verdict: 'deny', ruleId: 'no-ddl', policyVersion: 'sha256:ab', reason: 'rule no-ddl' }
          : { verdict: 'allow', ruleId: 'app-read', reason: 'rule app-read' },
    });
    s.onClientData(comQuery('select 1; drop table orders'));
    expect(ctx.upstream).toHaveLength(0);
    const reply = ctx.clientBytes();
    expect(reply[3]).toBe(1);
    expect(reply.readUInt16LE(5)).toBe(1142);
    expect(reply.subarray(8, 13).toString()).toBe('42000');
    expect(reply.subarray(13).toString()).toContain('denied by portwarden policy (rule no-ddl)');
    const queries = ctx.actions('db-query');
    expect(queries.map((q) => q.event.type)).toEqual([
      ['access', 'denied'],
      ['access', 'denied'],
    ]);
    expect(field(queries[1], 'rule.id')).toBe('no-ddl');
    expect(field(queries[1], 'policy.version')).toBe('sha256:ab');
    expect(ctx.actions('db-result').map((r) => field(r, 'db.response.error_number'))).toEqual([
      1142, 1142,
    ]);
    expect(ctx.closed).toBeNull();
    s.onClientData(comPing());
    expect(ctx.upstreamBytes()).toEqual(comPing());
  });

  it('a denial behind an outstanding command waits for its reply (pipelining)', () => {
    const { ctx, s } = loggedIn({
      decide: (a) =>
        a.protocol === 'mysql' && a.operation === 'DELETE'
          ? { verdict: 'deny', reason: 'no' }
          : { verdict: 'allow', reason: 'ok' },
    });
    s.onClientData(Buffer.concat([comQuery('select 1'), comQuery('delete from t')]));
    expect(ctx.upstreamBytes()).toEqual(comQuery('select 1'));
    expect(ctx.client).toHaveLength(0);
    const reply = textResultSet(1, ['1'], [['1']]);
    s.onServerData(reply);
    const out = ctx.clientBytes();
    expect(out.subarray(0, reply.length)).toEqual(reply);
    expect(out[reply.length + 4]).toBe(0xff);
  });

  it('COM_INIT_DB and USE change the namespace once the server agrees', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(comInitDb('sales'));
    expect(field(ctx.actions('db-query')[0], 'db.operation')).toBe('USE');
    s.onServerData(packet(1, ok()));
    expect(ctx.identity.database).toBe('sales');
    s.onClientData(comQuery('use `archive`'));
    s.onServerData(packet(1, err(1049, '42000', "Unknown database 'archive'")));
    expect(ctx.identity.database).toBe('sales');
    s.onClientData(comQuery('select 1'));
    expect(field(ctx.actions('db-query')[2], 'db.namespace')).toBe('sales');
  });

  it('records what is still pending when the connection closes', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(comQuery('select sleep(100)'));
    s.onClose?.();
    const result = ctx.actions('db-result')[0];
    expect(result?.event.outcome).toBe('unknown');
    expect(result?.event.reason).toContain('closed');
  });

  it('a malformed server packet: ERR 1047 to the client and close', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(comQuery('select 1'));
    s.onServerData(packet(1, Buffer.from([0xfe])));
    expect(ctx.closed?.reason).toBe('protocol-error');
    expect(ctx.clientBytes().readUInt16LE(5)).toBe(1047);
  });

  it('LOCAL INFILE contents pass through without being decoded as commands', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(comQuery("LOAD DATA LOCAL INFILE '/tmp/f' INTO TABLE t"));
    s.onServerData(packet(1, Buffer.concat([Buffer.from([0xfb]), str('/tmp/f')])));
    const data = Buffer.concat([packet(2, str('\x03not a query\n')), packet(3, Buffer.alloc(0))]);
    s.onClientData(data);
    expect(ctx.actions('db-query')).toHaveLength(1);
    s.onServerData(packet(4, ok({ affected: 1 })));
    expect(field(ctx.actions('db-result')[0], 'db.response.affected_rows')).toBe(1);
    expect(ctx.upstreamBytes().subarray(-data.length)).toEqual(data);
  });
});

describe('MySQL session: prepared statements', () => {
  function prepared(options: FakeOptions = {}) {
    const env = loggedIn(options);
    env.s.onClientData(comPrepare('select * from orders where id = ? and note = ?'));
    env.s.onServerData(
      Buffer.concat([
        packet(1, prepareOk(9, 1, 2)),
        packet(2, columnDef('?')),
        packet(3, columnDef('?')),
        packet(4, eof()),
        packet(5, columnDef('id')),
        packet(6, eof()),
      ]),
    );
    return env;
  }

  it('COM_STMT_PREPARE is not an action; COM_STMT_EXECUTE is, with the text from the statement id', () => {
    const { ctx, s } = prepared();
    expect(ctx.actions('db-query')).toHaveLength(0);
    s.onClientData(
      comExecute(9, [
        { type: 0x08, value: int8(7n) },
        { type: 0xfd, value: lenencStr('hello') },
      ]),
    );
    const q = ctx.actions('db-query')[0];
    expect(field(q, 'db.query.text')).toBe('select * from orders where id = ? and note = ?');
    expect(field(q, 'db.query.class')).toBe('read');
    expect(field(q, 'db.query.tables')).toEqual(['orders']);
    expect(field(q, 'db.query.parameters')).toBeUndefined();
    s.onServerData(
      Buffer.concat([
        packet(1, Buffer.from([1])),
        packet(2, columnDef('id')),
        packet(3, eof()),
        packet(4, Buffer.from([0, 0, 7, 0, 0, 0])),
        packet(5, eof()),
      ]),
    );
    expect(field(ctx.actions('db-result')[0], 'db.response.returned_rows')).toBe(1);
  });

  it('records bound values only when the listener asks, remembering types across executes', () => {
    const { ctx, s } = prepared({ recordValues: true });
    s.onClientData(
      comExecute(9, [
        { type: 0x08, value: int8(7n) },
        { type: 0xfd, value: lenencStr('hello') },
      ]),
    );
    s.onServerData(packet(1, ok()));
    s.onClientData(
      comExecute(
        9,
        [
          { type: 0x08, value: int8(8n) },
          { type: 0xfd, value: null },
        ],
        false,
      ),
    );
    const values = ctx.actions('db-query').map((q) => field(q, 'db.query.parameters'));
    expect(values).toEqual([
      [7, 'hello'],
      [8, null],
    ]);
  });

  it('never records bound values of a statement that sets a password', () => {
    const { ctx, s } = loggedIn({ recordValues: true });
    s.onClientData(comPrepare('ALTER USER bob IDENTIFIED BY ?'));
    s.onServerData(
      Buffer.concat([packet(1, prepareOk(3, 0, 1)), packet(2, columnDef('?')), packet(3, eof())]),
    );
    s.onClientData(comExecute(3, [{ type: 0xfd, value: lenencStr('hunter2') }]));
    expect(JSON.stringify(ctx.records)).not.toContain('hunter2');
  });

  it('executing an unknown statement id is unknown to policy; CLOSE forgets the id', () => {
    const { ctx, s } = prepared();
    s.onClientData(comClose(9));
    s.onClientData(comExecute(9, []));
    expect(ctx.decisions.at(-1)).toMatchObject({
      protocol: 'mysql',
      sqlClass: 'unknown',
      operation: 'EXECUTE',
    });
  });

  it('MariaDB statement id -1 runs the statement prepared last (pipelined prepare + execute)', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(
      Buffer.concat([
        comPrepare('delete from t where id = ?'),
        comExecute(0xffffffff, [{ type: 0x03, value: int4(1) }]),
      ]),
    );
    expect(ctx.decisions.at(-1)).toMatchObject({
      sqlClass: 'write',
      operation: 'DELETE',
      tables: ['t'],
    });
  });
});

describe('MySQL session: other commands', () => {
  it('COM_CHANGE_USER: no auth data recorded, db-login for the new user after OK', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(comChangeUser('bob', 'sales'));
    s.onServerData(packet(1, ok()));
    const login = ctx.actions('db-login')[1];
    expect(field(login, 'db.user')).toBe('bob');
    expect(field(login, 'db.login.change_user')).toBe(true);
    expect(ctx.identity).toMatchObject({ user: 'bob', database: 'sales' });
    expect(JSON.stringify(ctx.records)).not.toContain('abcdefghij0123456789');
  });

  it('COM_PING is housekeeping: forwarded, answered, not recorded', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(comPing());
    s.onServerData(packet(1, ok()));
    expect(ctx.records.map((r) => r.event.action)).toEqual(['db-login']);
    expect(ctx.decisions).toHaveLength(0);
    expect(ctx.clientBytes()).toEqual(packet(1, ok()));
  });

  it('administration commands (COM_SHUTDOWN) are actions of unknown class', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(packet(0, Buffer.from([0x08, 0x00])));
    expect(ctx.decisions[0]).toMatchObject({
      sqlClass: 'unknown',
      operation: 'SHUTDOWN',
      text: 'COM_SHUTDOWN',
    });
    s.onServerData(packet(1, eof()));
    expect(ctx.actions('db-result')[0]?.event.outcome).toBe('success');
  });

  it('forwards a whole reply chunk in one write', () => {
    const { ctx, s } = loggedIn();
    s.onClientData(comQuery('select 1'));
    const reply = textResultSet(
      1,
      ['a'],
      Array.from({ length: 50 }, (_, i) => [String(i)]),
    );
    s.onServerData(reply);
    expect(ctx.client).toHaveLength(1);
    expect(ctx.client[0]).toEqual(reply);
    const rows = field(ctx.actions('db-result')[0], 'db.response.returned_rows');
    expect(rows).toBe(50);
  });
});
