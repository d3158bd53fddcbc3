// The redis `keys` condition: globs as Redis ACL key patterns, every key for allow rules,
// any key for deny rules, and keys not all known failing closed.
import { describe, expect, test } from 'vitest';
import type { JsonObject } from '../../../src/audit/event.js';
import type { ActionFacts } from '../../../src/policy/index.js';
import { recordedDecision } from '../../../src/policy/replay-facts.js';
import { AT, conn, issuesOf, policyOf } from '../../helpers/policy-facts.js';

const del = (keys: readonly string[] | undefined, keysComplete = true): ActionFacts => ({
  protocol: 'redis',
  command: 'del',
  categories: ['keyspace', 'write', 'slow'],
  ...(keys === undefined ? {} : { keys, keysComplete }),
});

describe('redis keys', () => {
  const policy = policyOf(`
- id: no-secrets
  deny: { redis: { keys: ["secret:*", "cfg:[0-9]"] } }
- id: app-keys
  allow: { redis: { keys: ["app:*", "session:??"] } }
`);
  const decide = (a: ActionFacts) => policy.decideAction(conn(), a, AT);

  test.each<[string, readonly string[] | undefined, boolean, string, string | undefined]>([
    ['all keys allowed', ['app:1', 'app:x:y', 'session:ab'], true, 'allow', 'app-keys'],
    ['* crosses colons', ['app:a:b:c'], true, 'allow', 'app-keys'],
    ['one key outside the allow list', ['app:1', 'other'], true, 'deny', undefined],
    [
      'the 20th key is denied',
      [...Array<string>(19).fill('app:1'), 'secret:x'],
      true,
      'deny',
      'no-secrets',
    ],
    ['class', ['cfg:7'], true, 'deny', 'no-secrets'],
    ['class miss', ['cfg:x'], true, 'deny', undefined],
    ['case matters', ['SECRET:x'], true, 'deny', undefined],
    ['no keys: no key rule matches', [], true, 'deny', undefined],
    ['not all keys known: deny matches', ['app:1'], false, 'deny', 'no-secrets'],
    ['keys unknown: deny matches', undefined, true, 'deny', 'no-secrets'],
  ])('%s', (_what, keys, complete, verdict, ruleId) => {
    const decision = decide(del(keys, complete));
    expect(decision.verdict).toBe(verdict);
    expect(decision.ruleId).toBe(ruleId);
  });

  test('an allow rule never matches keys that are not all known', () => {
    const allowOnly = policyOf(`
- id: app-keys
  allow: { redis: { keys: ["app:*"] } }
`);
    expect(allowOnly.decideAction(conn(), del(['app:1'], false), AT).verdict).toBe('deny');
    expect(allowOnly.decideAction(conn(), del(['app:1']), AT).verdict).toBe('allow');
  });

  test('keys combine with commands (AND)', () => {
    const p = policyOf(
      `
- id: no-secret-deletes
  deny: { redis: { commands: [del, unlink], keys: ["secret:*"] } }
`,
      'allow',
    );
    expect(p.decideAction(conn(), del(['secret:1']), AT).verdict).toBe('deny');
    const get: ActionFacts = {
      protocol: 'redis',
      command: 'get',
      categories: ['read'],
      keys: ['secret:1'],
    };
    expect(p.decideAction(conn(), get, AT).verdict).toBe('allow');
  });

  test('a bad key glob is refused with its path', () => {
    const issues = issuesOf({
      p: { rules: [{ id: 'r', deny: { redis: { keys: ['a{b,c}'] } } }] },
    });
    expect(issues[0]?.path).toEqual(['p', 'rules', 0, 'deny', 'redis', 'keys', 0]);
  });
});

describe('replayed redis-command records carry their keys', () => {
  const record = (redis: JsonObject) =>
    recordedDecision({
      '@timestamp': '2026-01-01T00:00:00Z',
      event: { action: 'redis-command', type: ['access', 'allowed'], sequence: 1 },
      listener: { name: 'cache' },
      source: { ip: '10.0.0.1', port: 5000 },
      redis: { command: 'del', acl_categories: ['write'], ...redis },
    })?.request;

  test('keys listed, first key only, more counted than listed, truncated', () => {
    expect(record({ key: 'a', keys: ['a', 'b'], keys_count: 2 })).toMatchObject({
      keys: ['a', 'b'],
      keysComplete: true,
    });
    expect(record({ key: 'a' })).toMatchObject({ keys: ['a'], keysComplete: true });
    expect(record({ key: 'a', keys: ['a', 'b'], keys_count: 300 })).toMatchObject({
      keysComplete: false,
    });
    expect(record({ keys_truncated: true })).toMatchObject({ keys: [], keysComplete: false });
  });
});
