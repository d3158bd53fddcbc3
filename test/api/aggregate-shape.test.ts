/**
 * Statement shapes (what aggregation folds by): literals become `?` in each listener
 * dialect, comments and spacing go, quoted identifiers stay, and hostile text (unterminated
 * quotes and comments, huge or binary input) still gives a shape.
 */
import { describe, expect, it } from 'vitest';
import { type ShapeDialect, dialectOf, statementShape } from '../../src/api/statement-shape.js';

describe('statementShape', () => {
  const cases: [ShapeDialect, string, string][] = [
    ['postgres', 'select * from t where id = 7', 'select * from t where id = ?'],
    ['postgres', 'SELECT *\n  FROM t WHERE id = 8 -- retry 3\n', 'select * from t where id = ?'],
    ['postgres', "select 'a''b', E'x\\'y', $1, 1.5e3, .5, 0x1f", 'select ?, ?, ?, ?, ?, ?'],
    ['postgres', "select $$it's$$, $fn$ $$ $fn$, U&'d\\0061t'", 'select ?, ?, ?'],
    ['postgres', 'select "Id", t1.c2 from "T" /* hint */', 'select "Id", t1.c2 from "T"'],
    ['postgres', "insert into t values ('2026-11-02', -4)", 'insert into t values (?, -?)'],
    [
      'mysql',
      "select \"a\", 'b\\'c', `t`, x'ff', 42 # note\nfrom t1",
      'select ?, ?, `t`, ?, ? from t1',
    ],
    ['mysql', 'select `order` from db.t where a = 0xDEAD', 'select `order` from db.t where a = ?'],
    ['command', 'GET user:123', 'GET user:?'],
    ['command', "GET o'brien", "GET o'brien"],
    ['command', 'HGETALL session:0192f3a4-1b2c-7d3e-8f90-123456789abc', 'HGETALL session:?'],
    ['path', '/v1/orders/7/items/0192f3a4-1b2c-7d3e-8f90-123456789abc', '/v1/orders/?/items/?'],
    ['path', '/v2/users/42abc', '/v2/users/?'],
  ];
  it.each(cases)('%s: %j', (dialect, text, shape) => {
    expect(statementShape(text, dialect)).toBe(shape);
  });

  it('reads unterminated quotes, comments and dollar quotes to the end', () => {
    expect(statementShape("select 'open", 'postgres')).toBe('select ?');
    expect(statementShape('select 1 /* open', 'postgres')).toBe('select ?');
    expect(statementShape('select $q$ open', 'postgres')).toBe('select ?');
    expect(statementShape('select "open', 'postgres')).toBe('select "open');
    expect(statementShape('select `open', 'mysql')).toBe('select `open');
  });

  it('gives a shape for huge and binary input', () => {
    const huge = `select ${"'x', ".repeat(200_000)}1`;
    const shape = statementShape(huge, 'postgres');
    expect(shape.startsWith('select ?, ?')).toBe(true);
    expect(shape.length).toBe('select '.length + 200_001 * 3 - 2);
    const binary = String.fromCharCode(...Array.from({ length: 4096 }, (_, i) => i % 256));
    for (const d of ['postgres', 'mysql', 'command', 'path'] as const)
      expect(typeof statementShape(binary, d)).toBe('string');
  });

  it('takes the dialect from the listener protocol', () => {
    expect(dialectOf('postgres')).toBe('postgres');
    expect(dialectOf('mysql')).toBe('mysql');
    expect(dialectOf('http')).toBe('path');
    expect(dialectOf('redis')).toBe('command');
    expect(dialectOf(undefined)).toBe('command');
  });
});
