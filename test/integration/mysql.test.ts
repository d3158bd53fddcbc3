/**
 * MySQL/MariaDB through the real gateway to the local MariaDB (127.0.0.1:3306) with real
 * clients: the mariadb CLI (single and multi-statement COM_QUERY) and mysql2 (text queries,
 * prepared statements), and a policy denial. Counts of db-query and db-result records equal
 * what the clients sent.
 */
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JsonObject } from '../../src/audit/event.js';
import { compilePolicies } from '../../src/policy/index.js';
import { registerProtocol } from '../../src/protocols/index.js';
import { createMysqlSession } from '../../src/protocols/mysql/index.js';
import { byAction, field, startGateway, type TestGateway } from '../helpers/gateway.js';
import { runToExit, type Exit } from '../helpers/run.js';

const TABLE = `pw_it_${process.pid}`;
let gw: TestGateway;

function mariadb(port: number, args: readonly string[], input = ''): Promise<Exit> {
  return runToExit(
    'mariadb',
    ['-h', '127.0.0.1', '-P', String(port), '-u', 'root', '--skip-ssl', ...args, 'test'],
    input,
  );
}

/** Records of the one connection whose db-query texts include `marker`, once it has closed. */
async function connectionWith(
  marker: string,
): Promise<{ queries: JsonObject[]; results: JsonObject[]; all: JsonObject[] }> {
  const connOf = (evs: readonly JsonObject[]): unknown =>
    field(
      byAction(evs, 'db-query').find((q) => String(field(q, 'db.query.text')).includes(marker)) ??
        {},
      'connection.id',
    );
  const evs = await gw.waitForEvents((e) => {
    const conn = connOf(e);
    return (
      conn !== undefined &&
      byAction(e, 'connection-close').some((c) => field(c, 'connection.id') === conn)
    );
  });
  const conn = connOf(evs);
  const all = evs.filter((e) => field(e, 'connection.id') === conn);
  return { queries: byAction(all, 'db-query'), results: byAction(all, 'db-result'), all };
}

beforeAll(async () => {
  registerProtocol('mysql', createMysqlSession);
  const policies = {
    databases: {
      default: 'allow',
      rules: [{ id: 'no-drop', deny: { sql: { operations: ['DROP TABLE'] } } }],
    },
  };
  const compiled = compilePolicies(policies);
  if (!compiled.ok) throw new Error(JSON.stringify(compiled.issues));
  gw = await startGateway({
    listeners: [
      { name: 'db', listen: '127.0.0.1:0', target: '127.0.0.1:3306', protocol: 'mysql' },
      {
        name: 'guarded',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:3306',
        protocol: 'mysql',
        policy: 'databases',
      },
    ],
    policies,
    gatewayOptions: { policies: compiled.policies },
  });
});

afterAll(async () => {
  await mariadb(gw.port('db'), ['-e', `DROP TABLE IF EXISTS ${TABLE}, ${TABLE}_p`]);
  await gw.stop();
});

describe('mysql listener with real clients', () => {
  it('mariadb CLI: one db-query and one db-result per statement, multi-statement COM_QUERY included', async () => {
    const script = [
      `CREATE TABLE ${TABLE} (id INT PRIMARY KEY AUTO_INCREMENT, note VARCHAR(20))`,
      `INSERT INTO ${TABLE} (note) VALUES ('a'), ('b'), ('c')`,
      // One COM_QUERY holding three statements (the custom delimiter keeps the CLI from splitting).
      `SELECT * FROM ${TABLE}; UPDATE ${TABLE} SET note = 'z' WHERE id = 1; SELECT COUNT(*) FROM ${TABLE} WHERE note = 'z'`,
      `SELECT * FROM missing_${TABLE}`,
    ].join('$$\n');
    const run = await mariadb(gw.port('db'), ['--delimiter=$$', '--force'], `${script}$$\n`);
    expect(run.stderr).toContain("doesn't exist");
    const { queries, results, all } = await connectionWith(`CREATE TABLE ${TABLE}`);
    expect(queries.map((q) => field(q, 'db.operation'))).toEqual([
      'CREATE TABLE',
      'INSERT',
      'SELECT',
      'UPDATE',
      'SELECT',
      'SELECT',
    ]);
    expect(queries.map((q) => field(q, 'db.query.class'))).toEqual([
      'ddl',
      'write',
      'read',
      'write',
      'read',
      'read',
    ]);
    expect(results).toHaveLength(queries.length);
    expect(results.map((r) => field(r, 'event.reference'))).toEqual(
      queries.map((q) => field(q, 'event.id')),
    );
    expect(results.map((r) => field(r, 'db.response.returned_rows'))).toEqual([
      0,
      0,
      3,
      0,
      1,
      undefined,
    ]);
    expect(results.map((r) => field(r, 'db.response.affected_rows'))).toEqual([
      0,
      3,
      0,
      1,
      0,
      undefined,
    ]);
    expect(field(results[5] ?? {}, 'db.response.error_number')).toBe(1146);
    expect(field(results[5] ?? {}, 'db.response.status_code')).toBe('42S02');
    expect(field(queries[0] ?? {}, 'db.namespace')).toBe('test');
    expect(field(queries[0] ?? {}, 'db.user')).toBe('root');
    const login = byAction(all, 'db-login')[0] ?? {};
    expect(field(login, 'event.outcome')).toBe('success');
    // The server's own connection id joins the record with SHOW PROCESSLIST.
    expect(typeof field(login, 'mysql.connection_id')).toBe('number');
  });

  it('mysql2: text queries and prepared statements; values stay out of the record', async () => {
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: gw.port('db'),
      user: 'root',
      database: 'test',
      multipleStatements: true,
    });
    await conn.query(`CREATE TABLE ${TABLE}_p (id INT, secret VARCHAR(20))`);
    await conn.execute(`INSERT INTO ${TABLE}_p (id, secret) VALUES (?, ?)`, [
      1,
      'top-secret-value',
    ]);
    const [rows] = await conn.execute(`SELECT * FROM ${TABLE}_p WHERE id = ?`, [1]);
    expect(rows).toHaveLength(1);
    await conn.query(`SELECT 1; SELECT 2`);
    await conn.end();
    const { queries, results, all } = await connectionWith(`CREATE TABLE ${TABLE}_p`);
    const mine = queries.filter(
      (q) =>
        String(field(q, 'db.query.text')).includes(TABLE) ||
        /^SELECT [12]$/.test(String(field(q, 'db.query.text'))),
    );
    expect(mine.map((q) => field(q, 'db.query.text'))).toEqual([
      `CREATE TABLE ${TABLE}_p (id INT, secret VARCHAR(20))`,
      `INSERT INTO ${TABLE}_p (id, secret) VALUES (?, ?)`,
      `SELECT * FROM ${TABLE}_p WHERE id = ?`,
      'SELECT 1',
      'SELECT 2',
    ]);
    expect(results).toHaveLength(queries.length);
    const selectResult = results.find(
      (r) => field(r, 'event.reference') === field(mine[2] ?? {}, 'event.id'),
    );
    expect(field(selectResult ?? {}, 'db.response.returned_rows')).toBe(1);
    expect(JSON.stringify(all)).not.toContain('top-secret-value');
  });

  it('a denied statement: ERR 1142 to the client, nothing forwarded, the connection goes on', async () => {
    const conn = await mysql.createConnection({
      host: '127.0.0.1',
      port: gw.port('guarded'),
      user: 'root',
      database: 'test',
    });
    await expect(conn.query(`DROP TABLE ${TABLE}`)).rejects.toMatchObject({
      errno: 1142,
      sqlState: '42000',
    });
    const [rows] = await conn.query(`SELECT COUNT(*) AS n FROM ${TABLE}`);
    expect(rows).toEqual([{ n: 3 }]);
    await conn.end();
    const { queries, results } = await connectionWith(`DROP TABLE ${TABLE}`);
    const drop = queries.find((q) => field(q, 'db.operation') === 'DROP TABLE') ?? {};
    expect(field(drop, 'event.type')).toEqual(['access', 'denied']);
    expect(field(drop, 'rule.id')).toBe('no-drop');
    expect(results.map((r) => field(r, 'event.outcome'))).toContain('success');
  });
});
