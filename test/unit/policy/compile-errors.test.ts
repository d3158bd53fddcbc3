// Each config mistake is refused with its path below `policies` and an expected/got message.
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { compilePolicies } from '../../../src/policy/index.js';
import { issuesOf } from '../../helpers/policy-facts.js';

function withRule(rule: Record<string, unknown>): unknown {
  return { databases: { rules: [{ id: 'a', allow: {} }, { id: 'b', allow: {} }, rule] } };
}

describe('compilePolicies: accepted input', () => {
  test('an absent or empty policies map compiles to no policies', () => {
    for (const raw of [undefined, null, {}]) {
      const result = compilePolicies(raw);
      expect(result.ok && result.policies.size).toBe(0);
    }
  });

  test('the DESIGN §7 shape (with sql classes) compiles and defaults to deny', () => {
    const result = compilePolicies(
      parse(`
databases:
  rules:
    - id: app-read
      allow: { sources: [10.1.0.0/16], users: [app], sql: { classes: [read] } }
    - id: dba-hours
      allow: { users: [dba], time: "Mon-Fri 08:00-18:00 Europe/Berlin" }
    - id: no-ddl-from-app
      deny: { users: [app], sql: { classes: [ddl] } }
`),
    );
    if (!result.ok) throw new Error(JSON.stringify(result.issues));
    const policy = result.policies.get('databases');
    expect(policy?.defaultVerdict).toBe('deny');
    expect(policy?.rules.map((r) => [r.id, r.kind, r.connectionLevel])).toEqual([
      ['app-read', 'allow', false],
      ['dba-hours', 'allow', true],
      ['no-ddl-from-app', 'deny', false],
    ]);
  });
});

describe('compilePolicies: issues carry path and expected/got', () => {
  const cases: {
    name: string;
    rule: Record<string, unknown>;
    path: (string | number)[];
    message: string | RegExp;
  }[] = [
    {
      name: 'bad IPv4 CIDR',
      rule: { id: 'c', allow: { sources: ['10.0.0.300/8'] } },
      path: ['databases', 'rules', 2, 'allow', 'sources', 0],
      message: 'expected CIDR like 10.0.0.0/8, got "10.0.0.300/8"',
    },
    {
      name: 'CIDR prefix too long',
      rule: { id: 'c', allow: { sources: ['10.0.0.0/8', '2001:db8::/129'] } },
      path: ['databases', 'rules', 2, 'allow', 'sources', 1],
      message: 'expected CIDR like 10.0.0.0/8, got "2001:db8::/129" (prefix must be 0-128)',
    },
    {
      name: 'CIDR with host bits',
      rule: { id: 'c', deny: { sources: ['10.1.2.3/16'] } },
      path: ['databases', 'rules', 2, 'deny', 'sources', 0],
      message: 'expected CIDR like 10.0.0.0/8, got "10.1.2.3/16" (host bits set beyond the prefix)',
    },
    {
      name: 'bad time zone',
      rule: { id: 'c', allow: { time: 'Mon-Fri 08:00-18:00 Europe/Atlantis' } },
      path: ['databases', 'rules', 2, 'allow', 'time'],
      message:
        'expected IANA time zone like Europe/Berlin, got "Europe/Atlantis" in "Mon-Fri 08:00-18:00 Europe/Atlantis"',
    },
    {
      name: 'bad time range',
      rule: { id: 'c', allow: { time: ['Sat,Sun 00:00-24:00 UTC', 'Mon 08:00-25:00 UTC'] } },
      path: ['databases', 'rules', 2, 'allow', 'time', 1],
      message: 'expected times 00:00-24:00, got "08:00-25:00" in "Mon 08:00-25:00 UTC"',
    },
    {
      name: 'bad day name',
      rule: { id: 'c', allow: { time: 'Mo-Fr 08:00-18:00 UTC' } },
      path: ['databases', 'rules', 2, 'allow', 'time'],
      message:
        'expected days like Mon-Fri, Sat,Sun or Daily, got "Mo-Fr" in "Mo-Fr 08:00-18:00 UTC"',
    },
    {
      name: 'bad date',
      rule: { id: 'c', allow: { time: { dates: { from: '2026-02-30' } } } },
      path: ['databases', 'rules', 2, 'allow', 'time', 'dates', 'from'],
      message: 'expected a date like 2026-12-01, got "2026-02-30"',
    },
    {
      name: 'dates out of order',
      rule: { id: 'c', allow: { time: { dates: { from: '2026-12-31', until: '2026-12-01' } } } },
      path: ['databases', 'rules', 2, 'allow', 'time', 'dates'],
      message: 'expected from <= until, got 2026-12-31 > 2026-12-01',
    },
    {
      name: 'bad glob (braces)',
      rule: { id: 'c', allow: { http: { paths: ['/api/{v1,v2}/**'] } } },
      path: ['databases', 'rules', 2, 'allow', 'http', 'paths', 0],
      message:
        /^expected a path or glob like \/api\/\*\*, got "\/api\/\{v1,v2\}\/\*\*" \(braces are not supported/,
    },
    {
      name: 'bad glob (unclosed class)',
      rule: { id: 'c', allow: { sql: { tables: ['public.[ab'] } } },
      path: ['databases', 'rules', 2, 'allow', 'sql', 'tables', 0],
      message:
        'expected a table or glob like public.* or orders, got "public.[ab" (unclosed "[" at offset 7)',
    },
    {
      name: 'bad glob (***)',
      rule: { id: 'c', allow: { process: { exe: ['/usr/***'] } } },
      path: ['databases', 'rules', 2, 'allow', 'process', 'exe', 0],
      message:
        'expected an absolute path or glob like /usr/bin/*, got "/usr/***" ("***" at offset 5; use * or **)',
    },
    {
      name: 'unknown condition key',
      rule: { id: 'c', allow: { operations: ['read'] } },
      path: ['databases', 'rules', 2, 'allow', 'operations'],
      message: /^unknown key "operations"; expected one of sources, users, /,
    },
    {
      name: 'unknown rule key',
      rule: { id: 'c', allow: {}, comment: 'x' },
      path: ['databases', 'rules', 2, 'comment'],
      message: 'unknown key "comment"; expected one of id, description, allow, deny, alert',
    },
    {
      name: 'unknown sql key',
      rule: { id: 'c', deny: { sql: { class: ['ddl'], tables: ['t'] } } },
      path: ['databases', 'rules', 2, 'deny', 'sql', 'class'],
      message: 'unknown key "class"; expected one of classes, operations, tables',
    },
    {
      name: 'unknown SQL class',
      rule: { id: 'c', deny: { sql: { classes: ['ddl', 'admin'] } } },
      path: ['databases', 'rules', 2, 'deny', 'sql', 'classes', 1],
      message: /^expected one of "read", "write", .*, got "admin"$/,
    },
    {
      name: 'redis category without @',
      rule: { id: 'c', allow: { redis: { categories: ['read'] } } },
      path: ['databases', 'rules', 2, 'allow', 'redis', 'categories', 0],
      message: /^expected an ACL category like @read .*, got "read"$/,
    },
    {
      name: 'a list where a string was written',
      rule: { id: 'c', allow: { users: 'app' } },
      path: ['databases', 'rules', 2, 'allow', 'users'],
      message: 'expected a list, got "app"',
    },
    {
      name: 'an empty list',
      rule: { id: 'c', allow: { users: [] } },
      path: ['databases', 'rules', 2, 'allow', 'users'],
      message: 'expected at least one entry, got an empty list',
    },
    {
      name: 'uid not an integer',
      rule: { id: 'c', allow: { process: { uid: [1000, 'root'] } } },
      path: ['databases', 'rules', 2, 'allow', 'process', 'uid', 1],
      message: 'expected a number, got "root"',
    },
    {
      name: 'no verdict',
      rule: { id: 'c' },
      path: ['databases', 'rules', 2],
      message: 'expected exactly one of allow, deny, alert, got none',
    },
    {
      name: 'two verdicts',
      rule: { id: 'c', allow: {}, deny: {} },
      path: ['databases', 'rules', 2],
      message: 'expected exactly one of allow, deny, alert, got allow and deny',
    },
    {
      name: 'grant other than required',
      rule: { id: 'c', allow: { grant: 'yes' } },
      path: ['databases', 'rules', 2, 'allow', 'grant'],
      message: 'expected one of "required", got "yes"',
    },
    {
      name: 'duplicate rule id',
      rule: { id: 'a', deny: {} },
      path: ['databases', 'rules', 2, 'id'],
      message: 'expected a unique rule id, got "a" again (first at rules[0])',
    },
  ];

  test.each(cases)('$name', ({ rule, path, message }) => {
    const issues = issuesOf(withRule(rule));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toEqual(path);
    if (typeof message === 'string') expect(issues[0]?.message).toBe(message);
    else expect(issues[0]?.message).toMatch(message);
  });

  test('bad default and unknown policy key', () => {
    expect(issuesOf({ p: { default: 'block', rules: [], owner: 'x' } })).toEqual([
      { path: ['p', 'default'], message: 'expected one of "deny", "allow", got "block"' },
      { path: ['p', 'owner'], message: 'unknown key "owner"; expected one of default, rules' },
    ]);
  });

  test('a policy that is not a map', () => {
    expect(issuesOf({ p: ['allow'] })).toEqual([
      { path: ['p'], message: 'expected a map, got a list' },
    ]);
  });

  test('every problem is reported, duplicates included, ordered by rule', () => {
    const issues = issuesOf({
      p: {
        rules: [
          { id: 'x', allow: { sources: ['nope'] } },
          { id: 'x', deny: { users: [] } },
        ],
      },
    });
    expect(issues.map((i) => i.path)).toEqual([
      ['p', 'rules', 0, 'allow', 'sources', 0],
      ['p', 'rules', 1, 'deny', 'users'],
      ['p', 'rules', 1, 'id'],
    ]);
  });
});
