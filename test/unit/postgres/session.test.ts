import { beforeAll, describe, expect, it } from 'vitest';
import type { ActionFacts, Decision } from '../../../src/policy/action.js';
import { initPostgresClassifier } from '../../../src/protocols/postgres/classify.js';
import { createPostgresSession } from '../../../src/protocols/postgres/session.js';
import type { ProtocolSession } from '../../../src/protocols/session.js';
import { be, chunkings, fe } from '../../helpers/pg-builder.js';
import { fakeContext } from '../../helpers/pg-fake-context.js';
import type { FakeContext, FakeOptions } from '../../helpers/pg-fake-context.js';

beforeAll(async () => {
  await initPostgresClassifier();
});

const STARTUP = fe.startup({ user: 'app', database: 'orders', application_name: 'psql' });
const LOGIN_OK = Buffer.concat([
  be.authOk(),
  be.parameterStatus('server_version', '15'),
  be.keyData(4242),
  be.ready('I'),
]);

function connected(options: FakeOptions = {}): { ctx: FakeContext; session: ProtocolSession } {
  const ctx = fakeContext(options);
  const session = createPostgresSession(ctx);
  session.onClientData(STARTUP);
  session.onServerData(LOGIN_OK);
  ctx.upstream.length = 0;
  ctx.client.length = 0;
  return { ctx, session };
}

const denyWrites = (action: ActionFacts): Decision =>
  action.protocol === 'postgres' && action.sqlClass === 'write'
    ? {
        verdict: 'deny',
        ruleId: 'no-writes',
        policyVersion: 'sha256:abc',
        reason: 'rule no-writes',
      }
    : {
        verdict: 'allow',
        ruleId: 'app-read',
        policyVersion: 'sha256:abc',
        reason: 'rule app-read',
      };

/** Splits the client's bytes into messages by type letter, for readable assertions. */
function types(bytes: Buffer): string {
  let out = '';
  let pos = 0;
  while (pos + 5 <= bytes.length) {
    out += String.fromCharCode(bytes[pos] ?? 0);
    pos += 1 + bytes.readInt32BE(pos + 1);
  }
  return out;
}

describe('PostgreSQL session: startup and login', () => {
  it('forwards the startup packet, sets identity and records db-login with the backend pid', () => {
    const ctx = fakeContext();
    const session = createPostgresSession(ctx);
    session.onClientData(STARTUP);
    expect(ctx.upstreamBytes().equals(STARTUP)).toBe(true);
    expect(ctx.identity).toEqual({ user: 'app', database: 'orders', application: 'psql' });
    session.onServerData(LOGIN_OK);
    expect(ctx.clientBytes().equals(LOGIN_OK)).toBe(true);
    expect(ctx.actions('db-login')).toEqual([
      {
        event: {
          action: 'db-login',
          category: ['database', 'authentication'],
          type: ['start'],
          outcome: 'success',
        },
        db: { system: 'postgresql', namespace: 'orders', user: 'app', backend_pid: 4242 },
      },
    ]);
  });

  it('records a failed login with its SQLSTATE and forwards the password message untouched', () => {
    const ctx = fakeContext();
    const session = createPostgresSession(ctx);
    const password = fe.password('hunter2');
    session.onClientData(fe.startup({ user: 'app' }));
    session.onServerData(be.authCleartext());
    session.onClientData(password);
    session.onServerData(
      be.error('28P01', 'password authentication failed for user "app"', 'FATAL'),
    );
    expect(ctx.upstream.at(-1)?.equals(password)).toBe(true);
    const [login] = ctx.actions('db-login');
    expect(login?.event.outcome).toBe('failure');
    expect(login?.db).toEqual({
      system: 'postgresql',
      namespace: 'app',
      user: 'app',
      response: { status_code: '28P01' },
    });
    expect(JSON.stringify(ctx.records)).not.toContain('hunter2');
  });

  it('answers SSLRequest with S and starts TLS when the listener has TLS, never forwarding it', () => {
    const ctx = fakeContext({ tls: true });
    const session = createPostgresSession(ctx);
    session.onClientData(fe.sslRequest());
    expect(ctx.clientBytes().toString()).toBe('S');
    expect(ctx.tlsStarted).toBe(1);
    session.onClientData(STARTUP);
    expect(ctx.upstreamBytes().equals(STARTUP)).toBe(true);
  });

  it('answers SSLRequest and GSSENCRequest with N without TLS', () => {
    const ctx = fakeContext();
    const session = createPostgresSession(ctx);
    session.onClientData(Buffer.concat([fe.gssencRequest(), fe.sslRequest()]));
    session.onClientData(STARTUP);
    expect(ctx.clientBytes().toString()).toBe('NN');
    expect(ctx.upstreamBytes().equals(STARTUP)).toBe(true);
  });

  it('refuses bytes sent in clear behind an SSLRequest (CVE-2021-23214)', () => {
    const ctx = fakeContext({ tls: true });
    const session = createPostgresSession(ctx);
    session.onClientData(Buffer.concat([fe.sslRequest(), STARTUP]));
    expect(ctx.tlsStarted).toBe(0);
    expect(ctx.closed?.reason).toBe('protocol-error');
    expect(ctx.upstream).toEqual([]);
  });

  it('records a CancelRequest as db-cancel with the pid, then forwards it', () => {
    const ctx = fakeContext();
    const session = createPostgresSession(ctx);
    const cancel = fe.cancelRequest(4242);
    session.onClientData(cancel);
    expect(ctx.actions('db-cancel')).toEqual([
      {
        event: { action: 'db-cancel', category: ['database'], type: ['info'] },
        db: { system: 'postgresql', cancel: { backend_pid: 4242 } },
      },
    ]);
    expect(ctx.upstreamBytes().equals(cancel)).toBe(true);
  });
});

describe('PostgreSQL session: simple query', () => {
  it('records one db-query per statement and one db-result per statement, forwarding the bytes as one write', () => {
    const { ctx, session } = connected();
    const query = fe.query('select 1 from t; insert into u values (1)');
    session.onClientData(query);
    expect(ctx.upstream).toHaveLength(1);
    expect(ctx.upstreamBytes().equals(query)).toBe(true);
    const queries = ctx.actions('db-query');
    expect(queries.map((q) => q.db)).toEqual([
      {
        system: 'postgresql',
        namespace: 'orders',
        user: 'app',
        operation: 'SELECT',
        query: { text: 'select 1 from t', class: 'read', tables: ['t'] },
      },
      {
        system: 'postgresql',
        namespace: 'orders',
        user: 'app',
        operation: 'INSERT',
        query: { text: 'insert into u values (1)', class: 'write', tables: ['u'] },
      },
    ]);
    expect(queries[0]?.event).toMatchObject({
      type: ['access', 'allowed'],
      category: ['database'],
    });
    const reply = Buffer.concat([
      be.rowDescription(1),
      be.dataRow(['1']),
      be.commandComplete('SELECT 1'),
      be.commandComplete('INSERT 0 1'),
      be.ready('I'),
    ]);
    session.onServerData(reply);
    expect(ctx.clientBytes().equals(reply)).toBe(true);
    const ids = ctx.records.filter((r) => r.event.action === 'db-query').map((r) => r.id);
    const results = ctx.actions('db-result');
    expect(results.map((r) => [r.event.reference, r.event.outcome, r.db])).toEqual([
      [
        ids[0],
        'success',
        { system: 'postgresql', response: { status_code: '00000', returned_rows: 1 } },
      ],
      [
        ids[1],
        'success',
        { system: 'postgresql', response: { status_code: '00000', affected_rows: 1 } },
      ],
    ]);
    expect(results.every((r) => typeof r.event.duration === 'number' && r.event.duration > 0)).toBe(
      true,
    );
  });

  it('ends statements after a failing one as not executed', () => {
    const { ctx, session } = connected();
    session.onClientData(fe.query('select 1; select nope; select 2'));
    session.onServerData(
      Buffer.concat([
        be.commandComplete('SELECT 1'),
        be.error('42703', 'column "nope" does not exist'),
        be.ready('I'),
      ]),
    );
    expect(
      ctx.actions('db-result').map((r) => [r.event.outcome, r.db, r.error, r.event.reason]),
    ).toEqual([
      [
        'success',
        { system: 'postgresql', response: { status_code: '00000', returned_rows: 1 } },
        undefined,
        undefined,
      ],
      [
        'failure',
        { system: 'postgresql', response: { status_code: '42703' } },
        { message: 'column "nope" does not exist' },
        undefined,
      ],
      [
        'failure',
        { system: 'postgresql', response: {} },
        undefined,
        'not executed: an earlier statement failed',
      ],
    ]);
  });

  it('redacts passwords before policy and record see the text', () => {
    const { ctx, session } = connected();
    session.onClientData(fe.query("ALTER ROLE app PASSWORD 'hunter2'"));
    expect(ctx.decisions).toEqual([
      {
        protocol: 'postgres',
        sqlClass: 'dcl',
        operation: 'ALTER ROLE',
        tables: [],
        text: "ALTER ROLE app PASSWORD '***'",
      },
    ]);
    expect(JSON.stringify(ctx.records)).not.toContain('hunter2');
  });

  it('denies a statement natively: not forwarded, ErrorResponse 42501 and ReadyForQuery with the status', () => {
    const { ctx, session } = connected({ decide: denyWrites });
    session.onClientData(fe.query('select 1; delete from orders'));
    expect(ctx.upstream).toEqual([]);
    const queries = ctx.actions('db-query');
    expect(queries.map((q) => [q.event.type, q.event.outcome, q.rule, q.policy])).toEqual([
      [['access', 'allowed'], 'success', { id: 'app-read' }, { version: 'sha256:abc' }],
      [['access', 'denied'], 'failure', { id: 'no-writes' }, { version: 'sha256:abc' }],
    ]);
    // The allowed sibling was not run either: its result says so.
    expect(ctx.actions('db-result').map((r) => [r.event.outcome, r.event.reason])).toEqual([
      ['failure', 'not executed: statement 2 of the query was denied'],
    ]);
    const reply = ctx.clientBytes();
    expect(types(reply)).toBe('EZ');
    expect(reply.toString('latin1')).toContain('42501');
    expect(reply.toString('latin1')).toContain(
      'permission denied by portwarden policy: rule no-writes',
    );
    expect(reply.subarray(-1).toString()).toBe('I');
  });

  it('answers a denial only after the server answered the query before it', () => {
    const { ctx, session } = connected({ decide: denyWrites });
    session.onClientData(Buffer.concat([fe.query('select 1'), fe.query('delete from orders')]));
    expect(ctx.client).toEqual([]);
    session.onServerData(Buffer.concat([be.commandComplete('SELECT 1'), be.ready('T')]));
    expect(types(ctx.clientBytes())).toBe('CZEZ');
    expect(ctx.clientBytes().subarray(-1).toString()).toBe('T');
  });
});

describe('PostgreSQL session: extended protocol', () => {
  const batch = Buffer.concat([
    fe.parse('s1', 'select $1::int from t', [23]),
    fe.bind('p1', 's1', ['42']),
    fe.describe('P', 'p1'),
    fe.execute('p1'),
    fe.parse('', 'delete from t where id = $1'),
    fe.bind('', '', ['7']),
    fe.execute(''),
    fe.sync(),
  ]);
  const reply = Buffer.concat([
    be.parseComplete(),
    be.bindComplete(),
    be.rowDescription(1),
    be.dataRow(['42']),
    be.commandComplete('SELECT 1'),
    be.parseComplete(),
    be.bindComplete(),
    be.commandComplete('DELETE 1'),
    be.ready('I'),
  ]);

  it('records one db-query per Execute with statement and portal, and its result', () => {
    const { ctx, session } = connected({ recordValues: true });
    session.onClientData(batch);
    expect(ctx.upstreamBytes().equals(batch)).toBe(true);
    session.onServerData(reply);
    const queries = ctx.actions('db-query');
    expect(queries.map((q) => q.db)).toEqual([
      {
        system: 'postgresql',
        namespace: 'orders',
        user: 'app',
        operation: 'SELECT',
        query: { text: 'select $1::int from t', class: 'read', tables: ['t'], parameters: ['42'] },
        statement: { name: 's1', portal: 'p1' },
      },
      {
        system: 'postgresql',
        namespace: 'orders',
        user: 'app',
        operation: 'DELETE',
        query: {
          text: 'delete from t where id = $1',
          class: 'write',
          tables: ['t'],
          parameters: ['7'],
        },
        statement: { name: '', portal: '' },
      },
    ]);
    expect(ctx.actions('db-result').map((r) => r.db)).toEqual([
      { system: 'postgresql', response: { status_code: '00000', returned_rows: 1 } },
      { system: 'postgresql', response: { status_code: '00000', affected_rows: 1 } },
    ]);
  });

  it('keeps parameters out of records unless the listener records values', () => {
    const { ctx, session } = connected();
    session.onClientData(batch);
    expect(JSON.stringify(ctx.actions('db-query'))).not.toContain('parameters');
  });

  const deniedUpstream = Buffer.concat([
    fe.parse('s1', 'select $1::int from t', [23]),
    fe.bind('p1', 's1', ['42']),
    fe.describe('P', 'p1'),
    fe.execute('p1'),
    fe.parse('', 'delete from t where id = $1'),
    fe.bind('', '', ['7']),
    fe.sync(),
  ]);
  const deniedReply = Buffer.concat([
    be.parseComplete(),
    be.bindComplete(),
    be.rowDescription(1),
    be.dataRow(['42']),
    be.commandComplete('SELECT 1'),
    be.parseComplete(),
    be.bindComplete(),
    be.ready('I'),
  ]);

  it('denies inside a pipeline: forwards what came before, drops to Sync, answers in the server order', () => {
    const { ctx, session } = connected({ decide: denyWrites });
    session.onClientData(batch);
    expect(ctx.upstreamBytes().equals(deniedUpstream)).toBe(true);
    session.onServerData(deniedReply);
    // ParseComplete BindComplete RowDescription DataRow CommandComplete ParseComplete BindComplete, our Error, RFQ.
    expect(types(ctx.clientBytes())).toBe('12TDC12EZ');
    expect(ctx.actions('db-query').map((q) => q.event.type)).toEqual([
      ['access', 'allowed'],
      ['access', 'denied'],
    ]);
    expect(ctx.actions('db-result')).toHaveLength(1);
  });

  it('gives the same bytes both ways for every chunking of the denied pipeline, either direction', () => {
    const expectedClient = (() => {
      const { ctx, session } = connected({ decide: denyWrites });
      session.onClientData(batch);
      session.onServerData(deniedReply);
      return ctx.clientBytes();
    })();
    for (const client of chunkings(batch)) {
      const { ctx, session } = connected({ decide: denyWrites });
      for (const chunk of client.chunks) session.onClientData(chunk);
      expect(ctx.upstreamBytes().equals(deniedUpstream), client.name).toBe(true);
    }
    for (const server of chunkings(deniedReply)) {
      const { ctx, session } = connected({ decide: denyWrites });
      session.onClientData(batch);
      for (const chunk of server.chunks) session.onServerData(chunk);
      expect(ctx.clientBytes().equals(expectedClient), server.name).toBe(true);
    }
  });

  it('sends no second error when the server already failed the batch before the denial', () => {
    const { ctx, session } = connected({ decide: denyWrites });
    session.onClientData(batch);
    session.onServerData(
      Buffer.concat([
        be.parseComplete(),
        be.error('42P01', 'relation "t" does not exist'),
        be.ready('I'),
      ]),
    );
    expect(types(ctx.clientBytes())).toBe('1EZ');
    expect(ctx.actions('db-result').map((r) => [r.event.outcome, r.db])).toEqual([
      ['failure', { system: 'postgresql', response: { status_code: '42P01' } }],
    ]);
  });

  it('counts rows of a suspended portal and records every Execute of it', () => {
    const { ctx, session } = connected();
    session.onClientData(
      Buffer.concat([
        fe.parse('', 'select * from t'),
        fe.bind('c', ''),
        fe.execute('c', 1),
        fe.execute('c', 1),
        fe.sync(),
      ]),
    );
    session.onServerData(
      Buffer.concat([
        be.parseComplete(),
        be.bindComplete(),
        be.dataRow(['1']),
        be.portalSuspended(),
        be.dataRow(['2']),
        be.commandComplete('SELECT 1'),
        be.ready('I'),
      ]),
    );
    expect(ctx.actions('db-query')).toHaveLength(2);
    expect(ctx.actions('db-result').map((r) => r.db)).toEqual([
      { system: 'postgresql', response: { status_code: '00000', returned_rows: 1 } },
      { system: 'postgresql', response: { status_code: '00000', returned_rows: 1 } },
    ]);
  });

  it('records a FunctionCall as FUNCTION CALL with its result', () => {
    const { ctx, session } = connected();
    session.onClientData(fe.functionCall(764, [Buffer.from('x')]));
    session.onServerData(Buffer.concat([be.functionResult(Buffer.from('1')), be.ready('I')]));
    expect(ctx.actions('db-query')[0]?.db).toMatchObject({
      operation: 'FUNCTION CALL',
      query: { class: 'unknown' },
    });
    expect(ctx.actions('db-result')[0]?.event.outcome).toBe('success');
  });
});

describe('PostgreSQL session: COPY, close and hostile input', () => {
  it('COPY FROM STDIN: client bytes counted, rows from the tag', () => {
    const { ctx, session } = connected();
    session.onClientData(fe.query('copy t from stdin'));
    session.onServerData(be.copyIn(2));
    const data = Buffer.concat([fe.copyData('1\ta\n'), fe.copyData('2\tb\n'), fe.copyDone()]);
    session.onClientData(data);
    session.onServerData(Buffer.concat([be.commandComplete('COPY 2'), be.ready('I')]));
    expect(ctx.upstreamBytes().subarray(-data.length).equals(data)).toBe(true);
    expect(ctx.actions('db-result')[0]?.db).toEqual({
      system: 'postgresql',
      response: { status_code: '00000', affected_rows: 2, copy_bytes: 8 },
    });
  });

  it('COPY TO STDOUT: server bytes counted, rows from the tag', () => {
    const { ctx, session } = connected();
    session.onClientData(fe.query('copy t to stdout'));
    session.onServerData(
      Buffer.concat([
        be.copyOut(1),
        be.copyData('1\n'),
        be.copyData('2\n'),
        be.copyDone(),
        be.commandComplete('COPY 2'),
        be.ready('I'),
      ]),
    );
    expect(ctx.actions('db-result')[0]?.db).toEqual({
      system: 'postgresql',
      response: { status_code: '00000', returned_rows: 2, copy_bytes: 4 },
    });
  });

  it('ends open statements when the connection closes', () => {
    const { ctx, session } = connected();
    session.onClientData(fe.query('select pg_sleep(10)'));
    session.onClose?.();
    expect(ctx.actions('db-result').map((r) => [r.event.outcome, r.event.reason])).toEqual([
      ['unknown', 'connection closed before the result'],
    ]);
  });

  it('answers a protocol violation with FATAL 08P01 and closes, forwarding nothing of it', () => {
    const { ctx, session } = connected();
    session.onClientData(Buffer.concat([fe.query('select 1'), Buffer.from([0x7a, 0, 0, 0, 4])]));
    expect(ctx.upstream).toEqual([]);
    expect(ctx.closed).toEqual({
      reason: 'protocol-error',
      detail: 'frontend: unknown message type 0x7a',
    });
    const reply = ctx.clientBytes().toString('latin1');
    expect(reply).toContain('FATAL');
    expect(reply).toContain('08P01');
    session.onClientData(fe.query('select 2'));
    expect(ctx.upstream).toEqual([]);
  });

  it('refuses an oversized declared length before buffering it', () => {
    const { ctx, session } = connected({ maxMessageBytes: 1024 });
    session.onClientData(Buffer.from([0x51, 0, 1, 0, 0]));
    expect(ctx.closed?.reason).toBe('protocol-error');
    expect(ctx.closed?.detail).toMatch(/above 1024/);
  });
});
