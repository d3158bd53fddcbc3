import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { redactSql } from '../../../src/protocols/postgres/redact.js';

describe('redactSql', () => {
  const cases: [string, string][] = [
    ["CREATE ROLE app LOGIN PASSWORD 'hunter2'", "CREATE ROLE app LOGIN PASSWORD '***'"],
    [
      "alter user app with encrypted password 'SCRAM-SHA-256$4096:abc'",
      "alter user app with encrypted password '***'",
    ],
    [
      "ALTER ROLE a PASSWORD 'it''s' VALID UNTIL '2030-01-01'",
      "ALTER ROLE a PASSWORD '***' VALID UNTIL '2030-01-01'",
    ],
    ["alter role a password E'x\\'y' login", "alter role a password '***' login"],
    ['alter role a password $pw$sec$ret$pw$', "alter role a password '***'"],
    [
      "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'a', password 'pw')",
      "CREATE USER MAPPING FOR u SERVER s OPTIONS (user 'a', password '***')",
    ],
    [
      "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password 'pw')",
      "ALTER USER MAPPING FOR u SERVER s OPTIONS (SET password '***')",
    ],
    [
      "CREATE SUBSCRIPTION s CONNECTION 'host=db password=hunter2 dbname=x' PUBLICATION p",
      "CREATE SUBSCRIPTION s CONNECTION 'host=db password=*** dbname=x' PUBLICATION p",
    ],
    [
      "select dblink_connect('postgresql://app:hunter2@db/x')",
      "select dblink_connect('postgresql://app:***@db/x')",
    ],
    ['alter role a password null', 'alter role a password null'],
  ];
  for (const [input, output] of cases) {
    it(`redacts ${input}`, () => {
      expect(redactSql(input)).toBe(output);
    });
  }

  it('leaves comments, identifiers and other literals alone', () => {
    const sql = `select "password" from users where name = 'password' -- password 'x'\n/* password 'y' */`;
    expect(redactSql(sql)).toBe(sql);
  });

  it('returns the very same string when there is nothing to redact', () => {
    const sql = 'select * from t where a = $1';
    expect(redactSql(sql)).toBe(sql);
  });

  it('property: total on any text, and a password literal never survives', () => {
    fc.assert(
      fc.property(fc.string(), fc.stringMatching(/^[a-z0-9]{6,12}$/), (noise, secret) => {
        redactSql(noise);
        const out = redactSql(`${noise}\n; ALTER ROLE x PASSWORD '${secret}'`);
        if (!noise.includes(secret)) expect(out).not.toContain(secret);
      }),
      { numRuns: 500 },
    );
  });
});
