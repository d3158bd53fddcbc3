/**
 * PostgreSQL through the real gateway to the local PostgreSQL (127.0.0.1:5432) with real
 * clients: psql (a multi-statement string, \copy), node-postgres (simple, extended and a
 * pipelined batch with a denial inside), pgbench in all three query modes, and a cancel.
 */
import { execFile } from 'node:child_process';
import { writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { compilePolicies } from '../../src/policy/index.js';
import { registerProtocol } from '../../src/protocols/index.js';
import {
  createPostgresSession,
  initPostgresClassifier,
} from '../../src/protocols/postgres/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { fe } from '../helpers/pg-builder.js';

const SCHEMA = 'pw_it';
const BENCH = 'pw_bench';
let gw: TestGateway;
let admin: pg.Client;
let scratch: string;

function exec(
  cmd: string,
  args: readonly string[],
  env: Record<string, string> = {},
  input?: string,
): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      cmd,
      args,
      { encoding: 'utf8', timeout: 60_000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`));
        else resolve({ stdout, stderr });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

const psql = (port: number, args: readonly string[], input?: string) =>
  exec(
    'psql',
    ['-X', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'test', ...args],
    {},
    input,
  );

function client(port: number, extra: Partial<pg.ClientConfig> = {}): pg.Client {
  return new pg.Client({ host: '127.0.0.1', port, user: 'postgres', database: 'test', ...extra });
}

const queryText = (e: JsonObject): string => {
  const text = field(e, 'db.query.text');
  return typeof text === 'string' ? text : '';
};
const idOf = (e: JsonObject): unknown => field(e, 'event.id');

/** db-query records after `from` whose text passes `pred`, and their db-results. */
function queriesAndResults(evs: readonly JsonObject[], pred: (text: string) => boolean) {
  const queries = byAction(evs, 'db-query').filter((q) => pred(queryText(q)));
  const results = byAction(evs, 'db-result');
  const resultsOf = (q: JsonObject) =>
    results.filter((r) => field(r, 'event.reference') === idOf(q));
  return { queries, resultsOf };
}

beforeAll(async () => {
  await initPostgresClassifier();
  registerProtocol('postgres', createPostgresSession);
  scratch = mkdtempSync(join(tmpdir(), 'pw-pg-'));
  admin = client(5432);
  await admin.connect();
  await admin.query(`drop schema if exists ${SCHEMA} cascade; create schema ${SCHEMA}`);
  await admin.query(`create table ${SCHEMA}.items (id int primary key, name text)`);
  await admin.query(`create table ${SCHEMA}.secret (id int)`);
  await admin.query(`drop schema if exists ${BENCH} cascade; create schema ${BENCH}`);
  await exec(
    'pgbench',
    ['-i', '-q', '-s', '1', '-h', '127.0.0.1', '-p', '5432', '-U', 'postgres', 'test'],
    {
      PGOPTIONS: `-c search_path=${BENCH}`,
    },
  );
  const policies = {
    guarded: {
      default: 'allow',
      rules: [
        {
          id: 'no-secret-writes',
          deny: { sql: { classes: ['write'], tables: [`${SCHEMA}.secret`] } },
        },
      ],
    },
  };
  const compiled = compilePolicies(policies);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  gw = await startGateway({
    listeners: [
      { name: 'pg', listen: '127.0.0.1:0', target: '127.0.0.1:5432', protocol: 'postgres' },
      {
        name: 'pg-guarded',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:5432',
        protocol: 'postgres',
        policy: 'guarded',
      },
    ],
    policies,
    gatewayOptions: { policies: compiled.policies },
  });
}, 60_000);

afterAll(async () => {
  await gw?.stop();
  await admin?.query(
    `drop schema if exists ${SCHEMA} cascade; drop schema if exists ${BENCH} cascade`,
  );
  await admin?.end();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe('postgres listener with real clients', () => {
  it('psql: a multi-statement string gives one db-query and one db-result per statement', async () => {
    const out = await psql(gw.port('pg'), [
      '-c',
      `insert into ${SCHEMA}.items values (1, 'one'); select name from ${SCHEMA}.items; select 1/0`,
    ]).catch((err: Error) => ({ stdout: '', stderr: err.message }));
    expect(out.stderr).toContain('division by zero');
    const evs = await gw.waitForEvents((e) => {
      const { queries, resultsOf } = queriesAndResults(
        e,
        (t) => t.includes(`${SCHEMA}.items`) || t === 'select 1/0',
      );
      return queries.length === 3 && queries.every((q) => resultsOf(q).length === 1);
    });
    const { queries, resultsOf } = queriesAndResults(
      evs,
      (t) => t.includes(`${SCHEMA}.items`) || t === 'select 1/0',
    );
    expect(queries.map((q) => [field(q, 'db.operation'), field(q, 'db.query.class')])).toEqual([
      ['INSERT', 'write'],
      ['SELECT', 'read'],
      ['SELECT', 'read'],
    ]);
    // The whole string is one implicit transaction: the error rolls back the insert.
    expect(queries.map((q) => field(resultsOf(q)[0] ?? {}, 'db.response.status_code'))).toEqual([
      '00000',
      '00000',
      '22012',
    ]);
    expect(field(resultsOf(queries[1] ?? {})[0] ?? {}, 'db.response.returned_rows')).toBe(1);
    const login = byAction(evs, 'db-login').find(
      (l) => field(l, 'connection.id') === field(queries[0] ?? {}, 'connection.id'),
    );
    expect(field(login ?? {}, 'event.outcome')).toBe('success');
    expect(typeof field(login ?? {}, 'db.backend_pid')).toBe('number');
  });

  it('psql \\copy: COPY FROM STDIN rows and bytes are recorded', async () => {
    const file = join(scratch, 'items.tsv');
    writeFileSync(file, '10\tten\n11\televen\n12\ttwelve\n');
    await psql(gw.port('pg'), ['-c', `\\copy ${SCHEMA}.items from '${file}'`]);
    const evs = await gw.waitForEvents((e) => {
      const { queries, resultsOf } = queriesAndResults(e, (t) => /^COPY\s+pw_it\.items/i.test(t));
      return queries.length === 1 && resultsOf(queries[0] ?? {}).length === 1;
    });
    const { queries, resultsOf } = queriesAndResults(evs, (t) => /^COPY\s+pw_it\.items/i.test(t));
    const result = resultsOf(queries[0] ?? {})[0] ?? {};
    expect(field(result, 'db.response.affected_rows')).toBe(3);
    expect(field(result, 'db.response.copy_bytes')).toBe(27);
  });

  it('node-postgres: simple, extended, and a pipelined batch with a denied statement inside', async () => {
    const c = client(gw.port('pg-guarded'), { pipeline: true } as Partial<pg.ClientConfig>);
    await c.connect();
    try {
      const simple = await c.query(`select 41 + 1 as answer /* simple */`);
      expect(simple.rows).toEqual([{ answer: 42 }]);
      const extended = await c.query(`select $1::int + 1 as answer /* extended */`, [1]);
      expect(extended.rows).toEqual([{ answer: 2 }]);
      const settled = await Promise.allSettled([
        c.query(`insert into ${SCHEMA}.items values ($1, 'pipelined') /* p1 */`, [100]),
        c.query(`insert into ${SCHEMA}.secret values ($1) /* p2 */`, [1]),
        c.query(`select count(*)::int as n from ${SCHEMA}.items where id = $1 /* p3 */`, [100]),
      ]);
      expect(settled.map((s) => s.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      const denied = settled[1];
      expect(denied?.status === 'rejected' ? (denied.reason as { code?: string }).code : '').toBe(
        '42501',
      );
      const third = settled[2];
      expect(third?.status === 'fulfilled' ? third.value.rows : []).toEqual([{ n: 1 }]);
      // The connection is still usable after the denial.
      expect((await c.query('select 1 as one')).rows).toEqual([{ one: 1 }]);
    } finally {
      await c.end();
    }
    const evs = await gw.waitForEvents((e) => {
      const { queries } = queriesAndResults(e, (t) =>
        / \/\* (simple|extended|p[123]) \*\/$/.test(t),
      );
      return queries.length === 5 && byAction(e, 'db-result').length > 0;
    });
    const { queries, resultsOf } = queriesAndResults(evs, (t) =>
      / \/\* (simple|extended|p[123]) \*\/$/.test(t),
    );
    expect(queries.map((q) => field(q, 'event.type'))).toEqual([
      ['access', 'allowed'],
      ['access', 'allowed'],
      ['access', 'allowed'],
      ['access', 'denied'],
      ['access', 'allowed'],
    ]);
    expect(field(queries[3] ?? {}, 'rule.id')).toBe('no-secret-writes');
    expect(queries.map((q) => resultsOf(q).length)).toEqual([1, 1, 1, 0, 1]);
    expect(field(queries[1] ?? {}, 'db.statement.portal')).toBe('');
  });

  it('records a cancel of pg_sleep as db-cancel with the backend pid', async () => {
    const c = client(gw.port('pg'));
    await c.connect();
    const { processID, secretKey } = c as unknown as { processID: number; secretKey: number };
    const sleeping = c.query('select pg_sleep(30) /* to cancel */').then(
      () => 'finished',
      (err: { code?: string }) => err.code ?? 'error',
    );
    await gw.waitForEvents((e) =>
      byAction(e, 'db-query').some((q) => queryText(q).endsWith('/* to cancel */')),
    );
    const key = Buffer.alloc(4);
    key.writeInt32BE(secretKey);
    await new Promise<void>((resolve, reject) => {
      const socket = connect(gw.port('pg'), '127.0.0.1', () =>
        socket.end(fe.cancelRequest(processID, key)),
      );
      socket.on('close', () => resolve());
      socket.on('error', reject);
    });
    expect(await sleeping).toBe('57014');
    await c.end();
    const evs = await gw.waitForEvents((e) =>
      byAction(e, 'db-result').some((r) => field(r, 'db.response.status_code') === '57014'),
    );
    const cancels = byAction(evs, 'db-cancel').filter(
      (e) => field(e, 'db.cancel.backend_pid') === processID,
    );
    expect(cancels).toHaveLength(1);
  });

  for (const mode of ['simple', 'extended', 'prepared'] as const) {
    it(`pgbench -M ${mode}: one db-query per executed statement, each with its db-result`, async () => {
      const before = gw.events().length;
      const { stdout } = await exec(
        'pgbench',
        [
          '-n',
          '-M',
          mode,
          '-t',
          '20',
          '-c',
          '2',
          '-h',
          '127.0.0.1',
          '-p',
          String(gw.port('pg')),
          '-U',
          'postgres',
          'test',
        ],
        { PGOPTIONS: `-c search_path=${BENCH}` },
      );
      expect(stdout).toMatch(/number of transactions actually processed: 40\/40/);
      // TPC-B-like script: BEGIN, 3 UPDATEs, SELECT, INSERT, END — 7 statements a transaction.
      const script = (t: string) =>
        /^(BEGIN|END|UPDATE pgbench_|SELECT abalance|INSERT INTO pgbench_history)/.test(t);
      const evs = await gw.waitForEvents((e) => {
        const { queries, resultsOf } = queriesAndResults(e.slice(before), script);
        return queries.length >= 280 && queries.every((q) => resultsOf(q).length === 1);
      }, 20_000);
      const { queries, resultsOf } = queriesAndResults(evs.slice(before), script);
      expect(queries).toHaveLength(280);
      expect(
        queries.every((q) => field(resultsOf(q)[0] ?? {}, 'db.response.status_code') === '00000'),
      ).toBe(true);
      expect(queries.filter((q) => field(q, 'db.operation') === 'UPDATE')).toHaveLength(120);
      // pgbench's own set-up statement (the scale lookup) is paired too: no query is left open.
      const all = queriesAndResults(evs.slice(before), () => true);
      expect(all.queries.every((q) => all.resultsOf(q).length === 1)).toBe(true);
    }, 60_000);
  }
});
