// Policy state, history and replay: the pure parts behind policy-reload records,
// `policy history` and `policy test --replay`.
import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { canonicalJson } from '../../../src/audit/canonical.js';
import type { JsonObject } from '../../../src/audit/event.js';
import {
  PolicyReplay,
  changesJson,
  describeChanges,
  findDefinition,
  historyEntry,
  policyChanges,
  policyState,
  policyVersion,
  recordedDecision,
  stateJson,
} from '../../../src/policy/index.js';
import { policyOf } from '../../helpers/policy-facts.js';

const V1 = { rules: [{ id: 'a', allow: { sources: ['10.0.0.0/8'] } }] };
const V2 = {
  default: 'allow',
  rules: [
    { id: 'b', deny: { users: ['x'] } },
    { id: 'a', allow: { sources: ['10.0.0.0/16'] } },
  ],
};
const listeners = [{ name: 'db', policy: 'p' }, { name: 'open' }];

describe('policy state', () => {
  test('a recorded definition hashes to its version (the record proves its own text)', () => {
    const state = policyState({ p: { ...V1, note: new Date('2026-01-02T00:00:00Z') } }, []);
    const definition = state.definitions.p;
    expect(definition).toEqual({ ...V1, note: '2026-01-02T00:00:00.000Z' });
    const hash = createHash('sha256').update(canonicalJson(definition)).digest('hex');
    expect(state.versions.p).toBe(`sha256:${hash}`);
  });

  test('changes: added, removed and changed policies, with rule-level diffs', () => {
    const before = policyState({ p: V1, gone: V1 }, listeners);
    const after = policyState({ p: V2, fresh: V1 }, listeners);
    const changes = policyChanges(before, after);
    expect(changesJson(changes)).toEqual([
      {
        name: 'p',
        previous_version: policyVersion(V1),
        version: policyVersion(V2),
        added_rules: ['b'],
        removed_rules: [],
        changed_rules: ['a'],
        reordered: false,
        default_changed: { from: 'deny', to: 'allow' },
      },
      { name: 'fresh', previous_version: null, version: policyVersion(V1) },
      { name: 'gone', previous_version: policyVersion(V1), version: null },
    ]);
    expect(describeChanges(changes)[0]).toMatch(
      /^p: sha256:[0-9a-f]{12}→sha256:[0-9a-f]{12} \+rule b, ~rule a, default deny→allow$/,
    );
    expect(policyChanges(after, after)).toEqual([]);
  });

  test('history reads a record back, and --show finds a version by prefix', () => {
    const state = policyState({ p: V2 }, listeners);
    const record: JsonObject = {
      '@timestamp': '2026-11-22T10:00:00.000000001Z',
      event: { action: 'policy-reload', sequence: 7, outcome: 'success', reason: 'sighup' },
      message: 'policies reloaded',
      policy: {
        ...stateJson(state),
        changes: changesJson(policyChanges(policyState({ p: V1 }, listeners), state)),
      },
    };
    const entry = historyEntry(record);
    expect(entry).toMatchObject({ sequence: 7, trigger: 'sighup', outcome: 'success' });
    expect(entry?.changes[0]?.diff?.addedRules).toEqual(['b']);
    expect(entry?.state?.listeners).toEqual({ db: 'p', open: null });
    const found = findDefinition(entry ? [entry] : [], policyVersion(V2).slice(0, 14));
    expect(found).toEqual({ name: 'p', version: policyVersion(V2), definition: V2 });
    expect(historyEntry({ event: { action: 'db-query' } })).toBeNull();
  });
});

const at = '2026-11-22T10:15:02.123456789Z';
const base = (action: string, extra: JsonObject): JsonObject => ({
  '@timestamp': at,
  event: { action, sequence: 1, type: ['access', 'allowed'], outcome: 'success' },
  listener: { name: 'db' },
  source: { ip: '10.1.2.3', port: 5000 },
  ...extra,
});

describe('recorded decisions', () => {
  test('a db-query record becomes connection and statement facts', () => {
    const d = recordedDecision(
      base('db-query', {
        user: { name: 'app' },
        session: { database: 'orders', application: 'psql' },
        db: {
          system: 'postgresql',
          operation: 'DELETE',
          query: { text: 'delete from t', class: 'write', tables: ['public.t'] },
        },
        process: { pid: 9, executable: '/usr/bin/x', user: { id: 1000 } },
        rule: { id: 'r1' },
      }),
    );
    expect(d?.conn).toEqual({
      listener: 'db',
      sourceIp: '10.1.2.3',
      sourcePort: 5000,
      user: 'app',
      database: 'orders',
      application: 'psql',
      process: { exe: '/usr/bin/x', uid: 1000, pid: 9 },
    });
    expect(d?.request).toEqual({
      protocol: 'postgres',
      sqlClass: 'write',
      operation: 'DELETE',
      tables: ['public.t'],
      text: 'delete from t',
    });
    expect(d?.at.toISOString()).toBe('2026-11-22T10:15:02.123Z');
    expect(d).toMatchObject({ was: 'allow', ruleId: 'r1' });
  });

  test('records without a policy decision are left out', () => {
    const refusedForLimit = base('connection-open', {
      event: { action: 'connection-open', type: ['connection', 'denied'], reason: 'limit' },
    });
    const notRun = base('db-query', {
      event: { action: 'db-query', type: ['access', 'denied'], reason: 'not run: statement 1' },
      db: { system: 'mysql', operation: 'SELECT', query: { text: 'select 1', class: 'read' } },
    });
    expect(recordedDecision(refusedForLimit)).toBeNull();
    expect(recordedDecision(notRun)).toBeNull();
    expect(recordedDecision(base('db-result', {}))).toBeNull();
  });
});

describe('replay', () => {
  test('counts what the candidate decides differently, with examples, per listener and rule', () => {
    const candidate = policyOf(`
- id: no-flush
  deny: { redis: { commands: [flushall] } }
- id: office
  allow: { sources: [10.1.0.0/16] }
`);
    const replay = new PolicyReplay((l) => (l === 'db' ? candidate : undefined), 1);
    const cmd = (command: string, denied: boolean): JsonObject =>
      base('redis-command', {
        event: {
          action: 'redis-command',
          sequence: 3,
          type: ['access', denied ? 'denied' : 'allowed'],
        },
        redis: { command, acl_categories: ['keyspace'] },
      });
    replay.add(cmd('flushall', false));
    replay.add(cmd('flushall', false));
    replay.add(cmd('get', true));
    replay.add(cmd('get', false));
    replay.add(base('connection-open', { listener: { name: 'elsewhere' } }));
    replay.add(base('http-request', { http: { request: { method: 'GET' } }, url: { path: '/x' } }));
    const r = replay.report();
    expect(r).toMatchObject({
      replayed: 5,
      skipped: 1,
      unchanged: 2,
      newlyDenied: 2,
      newlyAllowed: 1,
    });
    expect(r.counts).toEqual([
      { listener: 'db', rule: 'no-flush', now: 'deny', count: 2 },
      { listener: 'db', rule: 'office', now: 'allow', count: 1 },
    ]);
    expect(r.examples.map((e) => [e.subject, e.was, e.now])).toEqual([
      ['flushall', 'allow', 'deny'],
      ['get', 'deny', 'allow'],
    ]);
  });
});
