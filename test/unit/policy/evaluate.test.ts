// First match wins, defaults, the accept-stage rules, failing closed, decision contents.
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { compilePolicies, policyVersion, type ConnectionFacts } from '../../../src/policy/index.js';
import {
  AT,
  conn,
  http,
  policyFromYaml,
  policyOf,
  redis,
  sql,
} from '../../helpers/policy-facts.js';

describe('order and defaults', () => {
  test('first matching rule wins, whatever its verdict', () => {
    const denyFirst = policyOf(`
- id: no-app-ddl
  deny: { users: [app], sql: { classes: [ddl] } }
- id: app-all
  allow: { users: [app] }
`);
    const allowFirst = policyOf(`
- id: app-all
  allow: { users: [app] }
- id: no-app-ddl
  deny: { users: [app], sql: { classes: [ddl] } }
`);
    const ddl = sql('ddl', 'DROP TABLE', ['t']);
    expect(denyFirst.decideAction(conn({ user: 'app' }), ddl, AT).ruleId).toBe('no-app-ddl');
    expect(denyFirst.decideAction(conn({ user: 'app' }), ddl, AT).verdict).toBe('deny');
    expect(allowFirst.decideAction(conn({ user: 'app' }), ddl, AT).ruleId).toBe('app-all');
    expect(allowFirst.decideAction(conn({ user: 'app' }), ddl, AT).verdict).toBe('allow');
  });

  test('default deny and default allow apply when nothing matches, without a rule id', () => {
    const rules = `
- id: only-ops
  deny: { users: [intruder] }
`;
    const d = policyOf(rules, 'deny').decideAction(conn({ user: 'x' }), redis('get', ['read']), AT);
    const a = policyOf(rules, 'allow').decideAction(
      conn({ user: 'x' }),
      redis('get', ['read']),
      AT,
    );
    expect(d).toMatchObject({ verdict: 'deny', reason: 'no rule allows' });
    expect(a).toMatchObject({ verdict: 'allow', reason: 'policy default allows' });
    expect(d.ruleId).toBeUndefined();
    expect(a.ruleId).toBeUndefined();
  });

  test('a policy with no rules is its default', () => {
    const p = policyFromYaml('p: { default: allow }');
    expect(p.decideConnection(conn(), AT).verdict).toBe('allow');
    expect(policyFromYaml('p: {}').decideConnection(conn(), AT).verdict).toBe('deny');
  });

  test('alert allows and names its rule', () => {
    const p = policyOf(`
- id: watch-exports
  alert: { http: { paths: ["/export/**"] } }
- id: everyone
  allow: {}
`);
    expect(p.decideAction(conn(), http('GET', '/export/all'), AT)).toMatchObject({
      verdict: 'alert',
      ruleId: 'watch-exports',
      reason: 'rule watch-exports',
    });
    expect(p.decideAction(conn(), http('GET', '/other'), AT).ruleId).toBe('everyone');
  });
});

describe('decideConnection', () => {
  const policy = policyOf(`
- id: lan-block
  deny: { sources: [10.66.0.0/16] }
- id: app-read
  allow: { sources: [10.1.0.0/16], users: [app], sql: { classes: [read] } }
- id: office
  allow: { sources: [192.168.0.0/16] }
- id: no-ddl
  deny: { sql: { classes: [ddl] } }
- id: vpn
  allow: { sources: ["2001:db8::/32"] }
`);
  test('a connection-level deny decides at accept', () => {
    expect(policy.decideConnection(conn({ sourceIp: '10.66.1.1' }), AT)).toMatchObject({
      verdict: 'deny',
      ruleId: 'lan-block',
    });
  });
  test('a connection-level allow decides at accept', () => {
    expect(policy.decideConnection(conn({ sourceIp: '192.168.1.1' }), AT).ruleId).toBe('office');
  });
  test('an allow that needs the request keeps the connection open, without claiming a rule', () => {
    const d = policy.decideConnection(conn({ sourceIp: '10.1.9.9' }), AT);
    expect(d.verdict).toBe('allow');
    expect(d.ruleId).toBeUndefined();
    expect(d.reason).toBe('rule app-read may allow; decided per request');
  });
  test('a request-level deny is skipped at accept: later allows still count', () => {
    expect(policy.decideConnection(conn({ sourceIp: '2001:db8::5' }), AT).ruleId).toBe('vpn');
  });
  test('refused at accept only when no allow rule could match', () => {
    expect(policy.decideConnection(conn({ sourceIp: '172.16.0.1' }), AT)).toMatchObject({
      verdict: 'deny',
      reason: 'no rule allows',
    });
    // Once the user is known and is not app, app-read can no longer allow.
    expect(policy.decideConnection(conn({ sourceIp: '10.1.9.9', user: 'dba' }), AT).verdict).toBe(
      'deny',
    );
  });
  test('the action stage then decides what the connection stage deferred', () => {
    const c = conn({ sourceIp: '10.1.9.9', user: 'app' });
    expect(policy.decideAction(c, sql('read', 'SELECT', ['t']), AT).ruleId).toBe('app-read');
    expect(policy.decideAction(c, sql('ddl', 'DROP TABLE', ['t']), AT).ruleId).toBe('no-ddl');
    expect(policy.decideAction(c, sql('write', 'DELETE', ['t']), AT).verdict).toBe('deny');
  });
});

describe('evaluation errors fail closed', () => {
  const policy = policyOf(
    `
- id: app
  allow: { users: [app], time: "Daily 00:00-24:00 UTC" }
`,
    'allow',
  );
  test('an invalid date denies with "evaluation error"', () => {
    const bad = new Date(Number.NaN);
    for (const d of [
      policy.decideConnection(conn({ user: 'app' }), bad),
      policy.decideAction(conn({ user: 'app' }), redis('get', []), bad),
    ]) {
      expect(d).toEqual({
        verdict: 'deny',
        policyVersion: policy.version,
        reason: 'evaluation error',
      });
    }
  });
  test('facts that throw when read deny, even under default allow', () => {
    const hostile = conn();
    Object.defineProperty(hostile, 'user', {
      get(): string {
        throw new Error('boom');
      },
    });
    expect(policy.decideConnection(hostile, AT).reason).toBe('evaluation error');
    expect(policy.decideAction(hostile, http('GET', '/'), AT).verdict).toBe('deny');
  });
  test('random facts never throw and always give a well-formed decision', () => {
    const big = policyOf(`
- id: a
  deny: { sources: [10.0.0.0/8], process: { exe: ["/usr/bin/*"] } }
- id: b
  alert: { users: [x], sql: { tables: ["*.t*"] }, time: "Mon-Fri 08:00-18:00 Europe/Berlin" }
- id: c
  allow: { http: { paths: ["/a/**"] }, grant: required }
- id: d
  allow: { redis: { commands: [get] }, tls_subjects: ["CN=a"] }
`);
    const facts = fc.record({
      listener: fc.string(),
      sourceIp: fc.oneof(fc.ipV4(), fc.ipV6(), fc.string()),
      sourcePort: fc.integer(),
      user: fc.option(fc.string(), { nil: undefined }),
      tlsSubject: fc.option(fc.string(), { nil: undefined }),
      groups: fc.option(fc.array(fc.string()), { nil: undefined }),
      process: fc.option(fc.record({ exe: fc.string(), uid: fc.integer(), pid: fc.integer() }), {
        nil: undefined,
      }),
    });
    const action = fc.oneof(
      fc.record({
        protocol: fc.constant('postgres' as const),
        sqlClass: fc.constantFrom(
          'read',
          'write',
          'ddl',
          'dcl',
          'tcl',
          'other',
          'unknown' as const,
        ),
        operation: fc.string(),
        tables: fc.array(fc.string()),
        text: fc.string(),
      }),
      fc.record({
        protocol: fc.constant('redis' as const),
        command: fc.string(),
        categories: fc.array(fc.string()),
      }),
      fc.record({ protocol: fc.constant('http' as const), method: fc.string(), path: fc.string() }),
    );
    fc.assert(
      fc.property(facts, action, fc.date({ noInvalidDate: false }), (c: ConnectionFacts, a, at) => {
        for (const d of [big.decideConnection(c, at), big.decideAction(c, a, at)]) {
          expect(['allow', 'deny', 'alert']).toContain(d.verdict);
          expect(d.policyVersion).toBe(big.version);
          if (Number.isNaN(at.getTime()))
            expect(d).toMatchObject({ verdict: 'deny', reason: 'evaluation error' });
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('version', () => {
  const a = `
p:
  default: deny
  rules:
    - id: r1
      allow: { sources: [10.0.0.0/8], users: [app] }
`;
  const reordered = `
p:
  rules:
    - allow: { users: [app], sources: [10.0.0.0/8] }
      id: r1
  default: deny
`;
  test('is sha256 of the canonical JSON and ignores YAML key order', () => {
    const v1 = policyFromYaml(a).version;
    expect(v1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(policyFromYaml(reordered).version).toBe(v1);
    // Same value as hashing the JCS text directly.
    expect(v1).toBe(policyVersion((parse(reordered) as { p: unknown }).p));
  });
  test('changes with any content change, including list order', () => {
    const v1 = policyFromYaml(a).version;
    expect(policyFromYaml(a.replace('app', 'app2')).version).not.toBe(v1);
    expect(policyFromYaml(a.replace('default: deny', 'default: allow')).version).not.toBe(v1);
    expect(policyFromYaml(a.replace('[app]', '[app, b]')).version).not.toBe(
      policyFromYaml(a.replace('[app]', '[b, app]')).version,
    );
  });
  test('every decision of a policy carries its version', () => {
    const p = policyFromYaml(a);
    expect(p.decideConnection(conn({ sourceIp: '10.0.0.1', user: 'app' }), AT)).toEqual({
      verdict: 'allow',
      ruleId: 'r1',
      policyVersion: p.version,
      reason: 'rule r1',
    });
  });
  test('a Date (YAML 1.1 timestamp) hashes as its ISO text', () => {
    const withDate = policyVersion({
      rules: [{ id: 'x', allow: { time: { dates: { from: new Date('2026-12-01') } } } }],
    });
    const withText = policyVersion({
      rules: [{ id: 'x', allow: { time: { dates: { from: '2026-12-01T00:00:00.000Z' } } } }],
    });
    expect(withDate).toBe(withText);
  });
});

describe('compilePolicies never throws', () => {
  test('on arbitrary input it returns ok or issues with paths', () => {
    const leaf = fc.oneof(
      fc.string(),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.ipV4(),
      fc.constant('allow'),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: 'small' },
        leaf,
        fc.array(tie('node'), { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom(
            'rules',
            'id',
            'allow',
            'deny',
            'sources',
            'users',
            'time',
            'sql',
            'http',
            'x',
          ),
          tie('node'),
          { maxKeys: 4 },
        ),
      ),
    })).node;
    fc.assert(
      fc.property(fc.dictionary(fc.string({ minLength: 1 }), value, { maxKeys: 3 }), (raw) => {
        const result = compilePolicies(raw);
        if (!result.ok) {
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) expect(issue.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });
});
