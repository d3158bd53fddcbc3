/** Statement splitting, classification and redaction (MySQL Language Structure, SQL Statements). */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  classifyStatement,
  redactSql,
  splitStatements,
} from '../../../src/protocols/mysql/index.js';

const classify = (sql: string) => {
  const parts = splitStatements(sql);
  expect(parts).toHaveLength(1);
  const only = parts[0];
  if (only === undefined) throw new Error('no statement');
  return classifyStatement(only);
};

describe('splitStatements', () => {
  it.each([
    ['select 1; select 2', ['select 1', 'select 2']],
    ['select \';\' ; select "a;b"; select `c;d`', ["select ';'", 'select "a;b"', 'select `c;d`']],
    [
      'select 1 -- ; not here\n; select 2 # ; nor here\n',
      ['select 1 -- ; not here', 'select 2 # ; nor here'],
    ],
    [
      '/* app=billing */ select 1; select 2 /* trailing */',
      ['/* app=billing */ select 1', 'select 2 /* trailing */'],
    ],
    ['select /* ; */ 1;;  ; select 2;', ['select /* ; */ 1', 'select 2']],
    [
      "insert into t values ('it''s; fine'); delete from t",
      ["insert into t values ('it''s; fine')", 'delete from t'],
    ],
    ['BEGIN; update t set a = 1; COMMIT', ['BEGIN', 'update t set a = 1', 'COMMIT']],
  ])('%s', (sql, texts) => {
    expect(splitStatements(sql).map((s) => s.text)).toEqual(texts);
  });

  it('keeps a routine body with BEGIN … END whole (and what follows it)', () => {
    const sql = 'select 0; CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END; select 3';
    const parts = splitStatements(sql);
    expect(parts.map((p) => p.text)).toEqual([
      'select 0',
      'CREATE PROCEDURE p() BEGIN SELECT 1; SELECT 2; END; select 3',
    ]);
    expect(parts[1]?.uncertain).toBe(true);
  });

  it('keeps MariaDB compound statements (BEGIN NOT ATOMIC, IF) whole', () => {
    expect(splitStatements('BEGIN NOT ATOMIC SELECT 1; SELECT 2; END')).toHaveLength(1);
    expect(splitStatements('IF 1 THEN SELECT 1; END IF')).toHaveLength(1);
  });

  it('an unterminated string keeps the rest together, uncertain', () => {
    const parts = splitStatements("select 1; select 'oops; drop table t");
    expect(parts.map((p) => p.uncertain)).toEqual([false, true]);
  });

  it("distrusts a split that depends on NO_BACKSLASH_ESCAPES ('a\\'; DROP …)", () => {
    const parts = splitStatements("SELECT 'a\\'; DROP TABLE t; -- '");
    // With escapes: one SELECT; without: a SELECT, then DROP TABLE. Neither is trusted.
    expect(parts).toHaveLength(1);
    expect(classifyStatement(parts[0] ?? { text: '', tokens: [], uncertain: true }).sqlClass).toBe(
      'unknown',
    );
  });

  it('splits never lose or invent text outside separators', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('select 1', "select 'a;b'", 'update t set x=1', '/* c */ do 1'), {
          minLength: 1,
          maxLength: 6,
        }),
        (stmts) => {
          expect(splitStatements(stmts.join('; ')).map((s) => s.text)).toEqual(stmts);
        },
      ),
    );
  });
});

describe('classifyStatement', () => {
  it.each([
    [
      'SELECT * FROM orders o JOIN customers c ON o.c = c.id',
      'read',
      'SELECT',
      ['orders', 'customers'],
    ],
    [
      'select a from db1.t1, `weird``name` as w where x in (select y from t3)',
      'read',
      'SELECT',
      ['db1.t1', 'weird`name', 't3'],
    ],
    ["select extract(year from d), trim(leading 'x' from s) from t", 'read', 'SELECT', ['t']],
    ["SELECT * FROM t INTO OUTFILE '/tmp/x'", 'write', 'SELECT', ['t']],
    ['WITH x AS (SELECT * FROM a) SELECT * FROM x JOIN b', 'read', 'SELECT', ['a', 'x', 'b']],
    [
      'WITH x AS (SELECT id FROM a) DELETE FROM b WHERE id IN (SELECT id FROM x)',
      'write',
      'DELETE',
      ['a', 'b', 'x'],
    ],
    ['insert into orders (a, b) values (1, 2)', 'write', 'INSERT', ['orders']],
    ['INSERT IGNORE t2 SELECT * FROM t1', 'write', 'INSERT', ['t2', 't1']],
    ['replace into t values (1)', 'write', 'REPLACE', ['t']],
    ['update low_priority t1 join t2 on t1.a = t2.a set t1.b = 1', 'write', 'UPDATE', ['t1', 't2']],
    ['insert into t values (1) on duplicate key update a = 2', 'write', 'INSERT', ['t']],
    ['DELETE FROM t WHERE id = 1', 'write', 'DELETE', ['t']],
    ["LOAD DATA LOCAL INFILE '/tmp/f' INTO TABLE t", 'write', 'LOAD DATA', ['t']],
    ['create table if not exists t (id int references p(id))', 'ddl', 'CREATE TABLE', ['t', 'p']],
    [
      'CREATE OR REPLACE DEFINER=`root`@`%` SQL SECURITY INVOKER VIEW v AS SELECT * FROM t',
      'ddl',
      'CREATE VIEW',
      ['v', 't'],
    ],
    ['create unique index i on t (a)', 'ddl', 'CREATE INDEX', ['t']],
    ['DROP TABLE IF EXISTS a, b', 'ddl', 'DROP TABLE', ['a', 'b']],
    ['rename table a to b, c to d', 'ddl', 'RENAME TABLE', ['a', 'b', 'c', 'd']],
    ['truncate t', 'ddl', 'TRUNCATE TABLE', ['t']],
    ['alter table t add column c int', 'ddl', 'ALTER TABLE', ['t']],
    ['create database x', 'ddl', 'CREATE DATABASE', []],
    ["CREATE USER 'bob'@'%' IDENTIFIED BY 'pw'", 'dcl', 'CREATE USER', []],
    ['GRANT SELECT ON db.* TO bob', 'dcl', 'GRANT', ['db.*']],
    ["SET PASSWORD FOR bob = PASSWORD('x')", 'dcl', 'SET PASSWORD', []],
    ['START TRANSACTION READ ONLY', 'tcl', 'START TRANSACTION', []],
    ['commit', 'tcl', 'COMMIT', []],
    ['LOCK TABLES t READ, u AS x WRITE', 'tcl', 'LOCK TABLES', ['t', 'u']],
    ['SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED', 'tcl', 'SET TRANSACTION', []],
    ['set names utf8mb4', 'other', 'SET', []],
    ['SET GLOBAL read_only = 0', 'unknown', 'SET', []],
    ['set @@global.max_connections = 1', 'unknown', 'SET', []],
    ['SET STATEMENT max_statement_time=1 FOR DELETE FROM t', 'write', 'DELETE', ['t']],
    ['use orders', 'other', 'USE', []],
    ['show columns from t', 'read', 'SHOW', ['t']],
    ['show tables', 'read', 'SHOW', []],
    ['describe t', 'read', 'DESCRIBE', ['t']],
    ['explain select * from t', 'read', 'EXPLAIN', ['t']],
    ['EXPLAIN ANALYZE DELETE FROM t', 'write', 'EXPLAIN ANALYZE', ['t']],
    ['ANALYZE TABLE t', 'other', 'ANALYZE TABLE', ['t']],
    ['call p()', 'unknown', 'CALL', []],
    ['EXECUTE stmt', 'unknown', 'EXECUTE', []],
    ['KILL 12', 'unknown', 'KILL', []],
    ['SHUTDOWN', 'unknown', 'SHUTDOWN', []],
    ['/*!40101 SET NAMES utf8 */', 'other', 'SET', []],
    ['(select 1) union (select 2)', 'read', 'SELECT', []],
    ['frobnicate the database', 'unknown', 'FROBNICATE', []],
    ['', 'unknown', '', []],
  ])('%s → %s %s', (sql, sqlClass, operation, tables) => {
    expect(classify(sql)).toMatchObject({ sqlClass, operation, tables });
  });

  it('USE names the database it switches to', () => {
    expect(classify('USE `sales db`').database).toBe('sales db');
  });

  it('never throws on random text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), (text) => {
        for (const s of splitStatements(text)) classifyStatement(s);
      }),
    );
  });
});

describe('redactSql', () => {
  it.each([
    ["CREATE USER 'bob'@'%' IDENTIFIED BY 's3cret'", "CREATE USER 'bob'@'%' IDENTIFIED BY '***'"],
    [
      "ALTER USER bob IDENTIFIED BY 'new' REPLACE 'old'",
      "ALTER USER bob IDENTIFIED BY '***' REPLACE '***'",
    ],
    [
      'create user a IDENTIFIED WITH caching_sha2_password BY \'x\', b IDENTIFIED BY "y"',
      "create user a IDENTIFIED WITH caching_sha2_password BY '***', b IDENTIFIED BY '***'",
    ],
    [
      "CREATE USER c IDENTIFIED VIA ed25519 USING PASSWORD('z')",
      "CREATE USER c IDENTIFIED VIA ed25519 USING PASSWORD('***')",
    ],
    [
      "SET PASSWORD FOR 'bob'@'%' = PASSWORD('p4ss')",
      "SET PASSWORD FOR 'bob'@'%' = PASSWORD('***')",
    ],
    ["SET PASSWORD = 'plain'", "SET PASSWORD = '***'"],
    ["select password('x'), 'kept'", "select password('***'), 'kept'"],
    [
      "CHANGE MASTER TO MASTER_USER='r', MASTER_PASSWORD='pw'",
      "CHANGE MASTER TO MASTER_USER='r', MASTER_PASSWORD='***'",
    ],
    ["GRANT ALL ON *.* TO u IDENTIFIED BY 'it\\'s'", "GRANT ALL ON *.* TO u IDENTIFIED BY '***'"],
    ["CREATE USER d IDENTIFIED BY _utf8mb4'x'", "CREATE USER d IDENTIFIED BY '***'"],
    ["CREATE USER e IDENTIFIED BY 'unterminated", "CREATE USER e IDENTIFIED BY '***'"],
    ["select 'IDENTIFIED BY x' from t", "select 'IDENTIFIED BY x' from t"],
  ])('%s', (sql, redacted) => {
    expect(redactSql(sql)).toBe(redacted);
  });

  it('the secret never survives, whatever it holds', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 4, maxLength: 20 }).filter((s) => /^[A-Za-z0-9]+$/.test(s)),
        (secret) => {
          for (const sql of [
            `CREATE USER u IDENTIFIED BY '${secret}'`,
            `SET PASSWORD = PASSWORD('${secret}')`,
            `ALTER USER u IDENTIFIED BY "${secret}"`,
          ]) {
            expect(redactSql(sql)).not.toContain(secret);
          }
        },
      ),
    );
  });
});
