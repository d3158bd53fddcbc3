import { describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { diffPolicies, diffPolicy } from '../../../src/policy/index.js';

const before = parse(`
databases:
  default: deny
  rules:
    - { id: a, allow: { users: [app] } }
    - { id: b, allow: { users: [dba] } }
    - { id: c, deny: { sql: { classes: [ddl] } } }
cache:
  rules: []
old:
  default: allow
`) as unknown;

describe('diffPolicy', () => {
  test('added, removed, changed (key order ignored), default changed', () => {
    const next = parse(`
default: allow
rules:
  - { allow: { users: [app] }, id: a }
  - { id: b, allow: { users: [dba, ops] } }
  - { id: d, alert: {} }
`) as unknown;
    expect(diffPolicy((before as { databases: unknown }).databases, next)).toEqual({
      addedRules: ['d'],
      removedRules: ['c'],
      changedRules: ['b'],
      reordered: false,
      defaultChanged: { from: 'deny', to: 'allow' },
    });
  });
  test('reordering is reported: first match depends on it', () => {
    const d = diffPolicy(
      {
        rules: [
          { id: 'a', allow: {} },
          { id: 'b', deny: {} },
        ],
      },
      {
        rules: [
          { id: 'b', deny: {} },
          { id: 'a', allow: {} },
        ],
      },
    );
    expect(d).toEqual({ addedRules: [], removedRules: [], changedRules: [], reordered: true });
  });
  test('malformed input has no rules and the deny default', () => {
    expect(diffPolicy(42, { rules: [{ id: 'x' }, { nope: 1 }] })).toEqual({
      addedRules: ['x'],
      removedRules: [],
      changedRules: [],
      reordered: false,
    });
  });
});

describe('diffPolicies', () => {
  test('policies added and removed; unchanged policies are left out', () => {
    const next = parse(`
databases:
  default: deny
  rules:
    - { id: a, allow: { users: [app] } }
    - { id: b, allow: { users: [dba] } }
cache:
  rules: []
web:
  rules: []
`) as unknown;
    expect(diffPolicies(before, next)).toEqual({
      addedPolicies: ['web'],
      removedPolicies: ['old'],
      changedPolicies: {
        databases: { addedRules: [], removedRules: ['c'], changedRules: [], reordered: false },
      },
    });
  });
  test('identical maps give an empty diff', () => {
    expect(diffPolicies(before, structuredClone(before))).toEqual({
      addedPolicies: [],
      removedPolicies: [],
      changedPolicies: {},
    });
  });
});
