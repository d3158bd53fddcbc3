/**
 * Policy enforced natively through the real gateway with real clients: psql gets 42501 for a
 * denied SELECT and goes on in the same session; a denied DELETE inside one pipelined
 * extended-protocol batch (one Sync) is answered with ErrorResponse + ReadyForQuery and the
 * session stays usable; the mariadb CLI gets ERR 1142; redis-cli gets -NOPERM on FLUSHALL
 * while GET works; curl gets our 403. Every denial is recorded with its rule and version.
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { policyVersion } from '../../src/policy/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { fe } from '../helpers/pg-builder.js';
import { run } from '../helpers/run.js';

const SCHEMA = 'pw_pol';
let gw: TestGateway;
let admin: pg.Client;
let web: http.Server;
let webHits: string[] = [];

const POLICIES = {
  pg: {
    rules: [
      { id: 'no-secret-reads', deny: { sql: { tables: [`${SCHEMA}.secret`] } } },
      { id: 'no-deletes', deny: { sql: { operations: ['DELETE'] } } },
      { id: 'local', allow: { sources: ['127.0.0.0/8', '::1/128'] } },
    ],
  },
  my: {
    rules: [
      { id: 'no-drop', deny: { sql: { operations: ['DROP TABLE'] } } },
      { id: 'local', allow: { sources: ['127.0.0.0/8'] } },
    ],
  },
  cache: {
    rules: [
      { id: 'no-dangerous', deny: { redis: { categories: ['@dangerous'] } } },
      { id: 'local', allow: { sources: ['127.0.0.0/8'] } },
    ],
  },
  web: {
    rules: [
      { id: 'no-admin', deny: { http: { paths: ['/admin/**'] } } },
      { id: 'local', allow: { sources: ['127.0.0.0/8'] } },
    ],
  },
};

/** Run a client to the end and keep its exit code (run() rejects on a non-zero exit). */
function runAll(
  cmd: string,
  args: readonly string[],
  input: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: 30_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input);
  });
}

const denialsOf = (evs: readonly JsonObject[], action: string): JsonObject[] =>
  byAction(evs, action).filter((e) => field(e, 'event.outcome') === 'failure');

beforeAll(async () => {
  admin = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'test' });
  await admin.connect();
  await admin.query(`drop schema if exists ${SCHEMA} cascade; create schema ${SCHEMA}`);
  await admin.query(`create table ${SCHEMA}.items (id int primary key, name text)`);
  await admin.query(`insert into ${SCHEMA}.items values (1, 'one'), (2, 'two')`);
  await admin.query(`create table ${SCHEMA}.secret (id int)`);
  web = http.createServer((req, res) => {
    webHits.push(req.url ?? '');
    res.end('ok');
  });
  await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
  const webPort = (web.address() as { port: number }).port;
  const listener = (name: string, target: string, protocol: string) => ({
    name,
    listen: '127.0.0.1:0',
    target,
    protocol,
    policy: name,
  });
  gw = await startGateway({
    listeners: [
      listener('pg', '127.0.0.1:5432', 'postgres'),
      listener('my', '127.0.0.1:3306', 'mysql'),
      listener('cache', '127.0.0.1:6379', 'redis'),
      listener('web', `127.0.0.1:${webPort}`, 'http'),
    ],
    policies: POLICIES,
  });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await admin?.query(`drop schema if exists ${SCHEMA} cascade`);
  await admin?.end();
  await new Promise((resolve) => web?.close(resolve));
});

describe('native denials through the gateway', () => {
  it('psql: a denied SELECT gets 42501, the allowed ones before and after run in the same session', async () => {
    const out = await runAll(
      'psql',
      [
        '-X',
        '-At',
        '-v',
        'VERBOSITY=verbose',
        '-h',
        '127.0.0.1',
        '-p',
        String(gw.port('pg')),
        '-U',
        'postgres',
        '-d',
        'test',
      ],
      `select count(*) from ${SCHEMA}.items;\nselect * from ${SCHEMA}.secret;\nselect pg_backend_pid() = pg_backend_pid(), 'after';\n`,
    );
    expect(out.stdout.split('\n')).toEqual(['2', 't|after', '']);
    expect(out.stderr).toMatch(/ERROR:\s+42501: .*no-secret-reads/);
    const evs = await gw.waitForEvents((e) => denialsOf(e, 'db-query').length >= 1);
    const denied = denialsOf(evs, 'db-query')[0] ?? {};
    expect(field(denied, 'db.query.text')).toBe(`select * from ${SCHEMA}.secret;`);
    expect(field(denied, 'rule.id')).toBe('no-secret-reads');
    expect(field(denied, 'policy.version')).toBe(policyVersion(POLICIES.pg));
    // One connection: the allowed statements share the denied one's connection id.
    const conn = field(denied, 'connection.id');
    const queries = byAction(evs, 'db-query').filter((q) => field(q, 'connection.id') === conn);
    expect(queries.map((q) => field(q, 'event.type'))).toEqual([
      ['access', 'allowed'],
      ['access', 'denied'],
      ['access', 'allowed'],
    ]);
  });

  it('a denied DELETE inside one pipelined extended batch: error, ReadyForQuery, session usable', async () => {
    const sock = connect(gw.port('pg'), '127.0.0.1');
    const reader = messageReader(sock);
    await new Promise((resolve) => sock.once('connect', resolve));
    sock.write(fe.startup({ user: 'postgres', database: 'test' }));
    await reader.until('Z');
    // Parse/Bind/Execute × 3 and a single Sync, all in one write (what pgbench -M extended
    // with \startpipeline sends).
    const batch = [
      `select 1 as first /* batch */`,
      `delete from ${SCHEMA}.items where id = 1 /* batch */`,
      `select 3 as third /* batch */`,
    ].flatMap((text) => [fe.parse('', text), fe.bind('', ''), fe.execute()]);
    sock.write(Buffer.concat([...batch, fe.sync()]));
    const answer = await reader.until('Z');
    // The first statement ran; the DELETE parsed and bound, and was refused with 42501 at
    // Execute; the third was discarded up to Sync, as PostgreSQL itself does after an error.
    expect(answer.map((m) => m.type)).toEqual(['1', '2', 'D', 'C', '1', '2', 'E', 'Z']);
    expect(answer[6]?.body.toString('latin1')).toContain('C42501');
    sock.write(fe.query('select count(*) from pw_pol.items'));
    const after = await reader.until('Z');
    expect(after.map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
    expect(after[1]?.body.toString('latin1')).toContain('2');
    sock.end(fe.terminate());
    const { rows } = await admin.query(`select count(*)::int as n from ${SCHEMA}.items`);
    expect(rows).toEqual([{ n: 2 }]);
    const evs = await gw.waitForEvents((e) =>
      denialsOf(e, 'db-query').some((q) => field(q, 'rule.id') === 'no-deletes'),
    );
    const deleted = denialsOf(evs, 'db-query').find((q) => field(q, 'rule.id') === 'no-deletes');
    expect(field(deleted ?? {}, 'db.operation')).toBe('DELETE');
  });

  it('mariadb: ERR 1142 for a denied DROP TABLE, statements before and after still answered', async () => {
    const out = await runAll(
      'mariadb',
      ['--force', '-N', '-h', '127.0.0.1', '-P', String(gw.port('my')), '-u', 'root', 'test'],
      'SELECT 1;\nDROP TABLE pw_pol_none;\nSELECT 2;\n',
    );
    expect(out.stdout.split('\n')).toEqual(['1', '2', '']);
    expect(out.stderr).toMatch(/ERROR 1142 \(42000\)/);
    const evs = await gw.waitForEvents((e) => denialsOf(e, 'db-query').some(isListener('my')));
    const denied = denialsOf(evs, 'db-query').find(isListener('my')) ?? {};
    expect(field(denied, 'rule.id')).toBe('no-drop');
    expect(field(denied, 'policy.version')).toBe(policyVersion(POLICIES.my));
  });

  it('redis-cli: -NOPERM on FLUSHALL while SET and GET work', async () => {
    const port = String(gw.port('cache'));
    const cli = (...args: string[]) => run('redis-cli', ['-h', '127.0.0.1', '-p', port, ...args]);
    expect(await cli('SET', 'pw:pol:key', 'v1')).toBe('OK\n');
    expect(await cli('FLUSHALL')).toMatch(/^NOPERM .*no-dangerous/);
    expect(await cli('GET', 'pw:pol:key')).toBe('v1\n');
    await cli('DEL', 'pw:pol:key');
    const evs = await gw.waitForEvents((e) => denialsOf(e, 'redis-command').length > 0);
    const denied = denialsOf(evs, 'redis-command')[0] ?? {};
    expect(field(denied, 'redis.command')).toBe('flushall');
    expect(field(denied, 'rule.id')).toBe('no-dangerous');
  });

  it('curl: 403 with a JSON body for a denied path, 200 for an allowed one', async () => {
    webHits = [];
    const base = `http://127.0.0.1:${gw.port('web')}`;
    const denied = await run('curl', ['-s', '-w', '\n%{http_code}', `${base}/admin/users`]);
    const [body = '', status] = denied.split('\n');
    expect(status).toBe('403');
    expect(JSON.parse(body)).toMatchObject({ rule: 'no-admin' });
    expect(await run('curl', ['-s', `${base}/public`])).toBe('ok');
    expect(webHits).toEqual(['/public']);
    const evs = await gw.waitForEvents((e) => denialsOf(e, 'http-request').length > 0);
    expect(field(denialsOf(evs, 'http-request')[0] ?? {}, 'url.path')).toBe('/admin/users');
  });
});

function isListener(name: string): (e: JsonObject) => boolean {
  return (e) => field(e, 'listener.name') === name;
}

interface BackendMessage {
  readonly type: string;
  readonly body: Buffer;
}

/** Backend messages off a raw socket: type byte + Int32 length (protocol-message-formats). */
function messageReader(sock: Socket): { until(type: string): Promise<BackendMessage[]> } {
  let buf = Buffer.alloc(0);
  let pending: BackendMessage[] = [];
  let wake: (() => void) | null = null;
  sock.on('data', (chunk: Buffer) => {
    buf = Buffer.concat([buf, chunk]);
    while (buf.length >= 5) {
      const len = buf.readInt32BE(1);
      if (buf.length < 1 + len) break;
      pending.push({ type: String.fromCharCode(buf[0] ?? 0), body: buf.subarray(5, 1 + len) });
      buf = buf.subarray(1 + len);
    }
    wake?.();
  });
  return {
    async until(type) {
      const deadline = Date.now() + 10_000;
      for (;;) {
        const at = pending.findIndex((m) => m.type === type);
        if (at >= 0) {
          const out = pending.slice(0, at + 1);
          pending = pending.slice(at + 1);
          return out;
        }
        if (Date.now() > deadline) throw new Error(`no ${type} within 10 s`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 100);
        });
      }
    },
  };
}
