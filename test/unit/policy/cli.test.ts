// `portwarden policy check|test|export` through commander, against config files on disk.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { policyCommand } from '../../../src/cli/commands/policy.js';

const dir = mkdtempSync(join(tmpdir(), 'pw-policy-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(() => {
  process.exitCode = 0;
});

const GOOD = `
listeners:
  - name: orders-db
    listen: 0.0.0.0:15432
    target: 10.1.5.5:5432
    protocol: postgres
    policy: databases
  - name: cache
    listen: 127.0.0.1:16379
    target: 127.0.0.1:6379
    protocol: redis
    policy: cache
  - name: web
    listen: "[::1]:18080"
    target: 127.0.0.1:8081
    protocol: http
policies:
  databases:
    rules:
      - id: no-ddl-from-app
        deny: { users: [app], sql: { classes: [ddl] } }
      - id: app-read
        allow: { sources: [10.1.0.0/16], users: [app], sql: { classes: [read] } }
      - id: dba-hours
        allow: { users: [dba], time: "Mon-Fri 08:00-18:00 Europe/Berlin" }
  cache:
    rules:
      - id: no-admin
        deny: { redis: { categories: ["@admin", "@dangerous"] } }
      - id: no-session-delete
        deny: { redis: { commands: [del], keys: ["session:*"] } }
      - id: rest
        allow: { sources: [10.0.0.0/8] }
`;

function configFile(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

async function cli(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '';
  let err = '';
  process.exitCode = 0;
  const cmd = policyCommand({ out: (t) => (out += t), err: (t) => (err += t) });
  cmd.exitOverride();
  await cmd.parseAsync(args, { from: 'user' });
  return { out, err, code: Number(process.exitCode ?? 0) };
}

describe('policy check', () => {
  test('a valid config: exit 0, one line per policy with its version', async () => {
    const r = await cli('check', '-c', configFile('good.yaml', GOOD));
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^databases\tsha256:[0-9a-f]{64}\t3 rules\tdefault deny$/m);
    expect(r.out).toContain('ok: 2 policies valid');
    expect(r.err).toContain('listener web has no policy (audit-only)');
  });
  test('an invalid policy: exit 1 with file, line and path', async () => {
    const file = configFile('bad.yaml', GOOD.replace('10.1.0.0/16', '10.1.0.300/16'));
    const r = await cli('check', '-c', file);
    expect(r.code).toBe(1);
    expect(r.err).toContain(
      `${file}:23:28: policies.databases.rules[1].allow.sources[0]: expected CIDR like 10.0.0.0/8, got "10.1.0.300/16"`,
    );
  });
  test('a missing file: exit 2', async () => {
    const r = await cli('check', '-c', join(dir, 'missing.yaml'));
    expect(r.code).toBe(2);
    expect(r.err).toContain('cannot read config file');
  });
});

describe('policy test', () => {
  const file = configFile('test.yaml', GOOD);
  test('SQL: each statement decided after the connection', async () => {
    const r = await cli(
      'test',
      '-c',
      file,
      '--listener',
      'orders-db',
      '--source',
      '10.1.2.3:5000',
      '--user',
      'app',
      '--query',
      'SELECT * FROM orders; DROP TABLE orders',
      '--format',
      'ndjson',
    );
    expect(r.code).toBe(0);
    const lines = r.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.map((l) => [l.stage, l.verdict, l.ruleId])).toEqual([
      ['connection', 'allow', undefined],
      ['action', 'allow', 'app-read'],
      ['action', 'deny', 'no-ddl-from-app'],
    ]);
    expect(lines[1]?.subject).toBe('read SELECT orders');
  });
  test('time: dba outside office hours in Berlin is refused at accept', async () => {
    const base = [
      'test',
      '-c',
      file,
      '--listener',
      'orders-db',
      '--source',
      '10.1.2.3',
      '--user',
      'dba',
    ];
    const inside = await cli(...base, '--at', '2026-11-23T09:00:00Z');
    const outside = await cli(...base, '--at', '2026-11-23T20:00:00Z');
    expect(inside.out).toMatch(/^connection allow rule=dba-hours/m);
    expect(outside.out).toMatch(/^connection deny {2}rule=- {2}no rule allows/m);
  });
  test('Redis: the command is resolved to its ACL categories', async () => {
    const r = await cli(
      'test',
      '-c',
      file,
      '--listener',
      'cache',
      '--source',
      '10.0.0.7',
      '--redis',
      'CONFIG SET maxmemory 1',
    );
    expect(r.out).toMatch(/^action {5}deny {2}rule=no-admin .*\[config\|set\]$/m);
  });
  test('Redis: every key of the command line reaches policy', async () => {
    const base = ['test', '-c', file, '--listener', 'cache', '--source', '10.0.0.7', '--redis'];
    const keys = Array.from({ length: 19 }, (_, i) => `cart:${i}`);
    const denied = await cli(...base, `DEL ${keys.join(' ')} session:42`);
    expect(denied.out).toMatch(/^action {5}deny {2}rule=no-session-delete /m);
    const allowed = await cli(...base, `DEL ${keys.join(' ')}`);
    expect(allowed.out).toMatch(/^action {5}allow rule=rest /m);
  });
  test('HTTP on an audit-only listener passes', async () => {
    const r = await cli(
      'test',
      '-c',
      file,
      '--listener',
      'web',
      '--source',
      '::1',
      '--http',
      'DELETE /x',
    );
    expect(r.out).toMatch(/^action {5}allow rule=- {2}audit-only listener/m);
    expect(r.out).toContain('policy: (none: audit-only)');
  });
  test('an unknown listener is a usage error (exit 2)', async () => {
    const r = await cli('test', '-c', file, '--listener', 'nope', '--source', '10.0.0.1');
    expect(r.code).toBe(2);
    expect(r.err).toContain('no listener named "nope"');
  });
});

describe('policy export', () => {
  const file = configFile('export.yaml', GOOD);
  test('nftables', async () => {
    const r = await cli(
      'export',
      '-c',
      file,
      '--format',
      'nftables',
      '--gateway-address',
      '10.1.2.9',
    );
    expect(r.code).toBe(0);
    // dba-hours has no source condition, so every source may reach the listener port.
    expect(r.out).toContain('tcp dport 15432 accept');
    expect(r.out).toContain('ip daddr 127.0.0.1 tcp dport 16379 ip saddr { 10.0.0.0/8 } accept');
    expect(r.out).toContain(
      'ip daddr 10.1.5.5 tcp dport 5432 ip saddr != { 127.0.0.1, 10.1.2.9 } drop',
    );
  });
  test('k8s', async () => {
    const r = await cli(
      'export',
      '-c',
      file,
      '--format',
      'k8s',
      '--namespace',
      'data',
      '--gateway-selector',
      'app=pw',
    );
    const docs = parseAllDocuments(r.out).map(
      (d) => d.toJS() as { kind: string; metadata: { namespace: string } },
    );
    expect(docs.map((d) => [d.kind, d.metadata.namespace])).toEqual([
      ['NetworkPolicy', 'data'],
      ['NetworkPolicy', 'data'],
      ['NetworkPolicy', 'data'],
    ]);
  });
});
