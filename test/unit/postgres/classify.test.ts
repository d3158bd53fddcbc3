import { beforeAll, describe, expect, it } from 'vitest';
import { classifySql, initPostgresClassifier } from '../../../src/protocols/postgres/classify.js';

beforeAll(async () => {
  await initPostgresClassifier();
});

describe('classifySql', () => {
  const cases: [string, string, string, string[]][] = [
    ['select * from orders o join s.items i on true', 'read', 'SELECT', ['orders', 's.items']],
    ['insert into s.x values (1)', 'write', 'INSERT', ['s.x']],
    ['update t set a = 1', 'write', 'UPDATE', ['t']],
    ['delete from t', 'write', 'DELETE', ['t']],
    ['merge into t using u on t.id = u.id when matched then delete', 'write', 'MERGE', ['t', 'u']],
    ['truncate t', 'write', 'TRUNCATE', ['t']],
    ['with q as (delete from z returning *) select * from q', 'write', 'SELECT', ['z']],
    ['select * into newt from t', 'ddl', 'SELECT INTO', ['newt', 't']],
    ['create table foo (a int)', 'ddl', 'CREATE TABLE', ['foo']],
    ['alter table t add column c int', 'ddl', 'ALTER TABLE', ['t']],
    ['drop table a, s.b', 'ddl', 'DROP TABLE', ['a', 's.b']],
    ['create index on t (a)', 'ddl', 'CREATE INDEX', ['t']],
    ['create materialized view v as select 1', 'ddl', 'CREATE MATERIALIZED VIEW', ['v']],
    ['create extension pgcrypto', 'ddl', 'CREATE EXTENSION', []],
    ['grant select on t to app', 'dcl', 'GRANT', ['t']],
    ['revoke select on t from app', 'dcl', 'REVOKE', ['t']],
    ["create role r login password 'x'", 'dcl', 'CREATE ROLE', []],
    ['alter role r rename to q', 'dcl', 'ALTER ROLE', []],
    ['set role admin', 'dcl', 'SET', []],
    ['begin', 'tcl', 'BEGIN', []],
    ['commit', 'tcl', 'COMMIT', []],
    ['rollback to savepoint a', 'tcl', 'ROLLBACK TO SAVEPOINT', []],
    ['set search_path = public', 'other', 'SET', []],
    ['show work_mem', 'other', 'SHOW', []],
    ['vacuum t', 'other', 'VACUUM', ['t']],
    ['explain select 1', 'read', 'EXPLAIN', []],
    ['explain analyze delete from t', 'write', 'EXPLAIN', ['t']],
    ['prepare p as delete from t', 'write', 'PREPARE', ['t']],
    ['copy t from stdin', 'write', 'COPY', ['t']],
    ['copy t to stdout', 'read', 'COPY', ['t']],
    ["copy t to program 'rm -rf /'", 'unknown', 'COPY', ['t']],
    ['do $$ begin perform 1; end $$', 'unknown', 'DO', []],
    ['call p()', 'unknown', 'CALL', []],
    ['selec 1', 'unknown', 'SELEC', []],
  ];
  for (const [sql, sqlClass, operation, tables] of cases) {
    it(`${sql} → ${sqlClass} ${operation}`, () => {
      const [statement, extra] = classifySql(sql);
      expect(extra).toBeUndefined();
      expect(statement).toEqual({ text: sql, sqlClass, operation, tables });
    });
  }

  it('splits a multi-statement text at the parser locations, UTF-8 included', () => {
    const got = classifySql(
      "select 'é€' from t; insert into u values (1);; create table v (a int)  ",
    );
    expect(got.map((s) => [s.text, s.sqlClass, s.operation])).toEqual([
      ["select 'é€' from t", 'read', 'SELECT'],
      ['insert into u values (1)', 'write', 'INSERT'],
      ['create table v (a int)', 'ddl', 'CREATE TABLE'],
    ]);
  });

  it('gives no statement for an empty text', () => {
    expect(classifySql('')).toEqual([]);
    expect(classifySql(' ;; -- nothing\n')).toEqual([]);
  });

  it('caches by text (the same answer object twice)', () => {
    const text = 'select 42 from cached_table';
    expect(classifySql(text)).toBe(classifySql(text));
  });
});
