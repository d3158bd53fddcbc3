import { describe, expect, it } from 'vitest';
import { formatIssues, parseConfigText } from '../../../src/config/index.js';

function issuesOf(text: string): string {
  const r = parseConfigText(text);
  if (r.ok) throw new Error('expected the config to be refused');
  return formatIssues('portwarden.yaml', r.issues);
}

describe('config validation', () => {
  it('accepts a minimal config and fills defaults', () => {
    const r = parseConfigText(
      'listeners:\n  - name: db\n    listen: 127.0.0.1:15432\n    target: 10.0.0.5:5432\n',
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const l = r.config.listeners[0];
    expect(l?.protocol).toBe('tcp');
    expect(l?.target).toEqual({ host: '10.0.0.5', port: 5432 });
    expect(r.config.audit.mode).toBe('strict');
    expect(r.config.api.listen).toEqual({ host: '127.0.0.1', port: 8080 });
  });

  it('names file, line, key path and what was expected for a bad target', () => {
    const text = [
      'listeners:',
      '  - name: a',
      '    listen: 127.0.0.1:1001',
      '    target: 127.0.0.1:1',
      '  - name: b',
      '    listen: 127.0.0.1:1002',
      '    target: 127.0.0.1:2',
      '  - name: c',
      '    listen: 127.0.0.1:1003',
      '    target: db',
    ].join('\n');
    expect(issuesOf(text)).toBe(
      'portwarden.yaml:10:13: listeners[2].target: expected host:port, got "db"',
    );
  });

  it('parses IPv6 addresses in brackets', () => {
    const r = parseConfigText(
      'listeners:\n  - name: v6\n    listen: "[::1]:0"\n    target: "[fd00::5]:6379"\n',
    );
    expect(r.ok && r.config.listeners[0]?.listen).toEqual({ host: '::1', port: 0 });
  });

  it('refuses unknown keys, so a typo never silently weakens a setting', () => {
    expect(issuesOf('audit:\n  mdoe: async\n')).toContain('audit: unknown key(s) "mdoe"');
  });

  it('refuses a bad enum with the allowed values', () => {
    expect(issuesOf('audit:\n  mode: sometimes\n')).toMatch(
      /^portwarden\.yaml:2:9: audit\.mode: expected one of "strict", "async", got "sometimes"$/,
    );
  });

  it('refuses duplicate listener names and addresses', () => {
    const out = issuesOf(
      'listeners:\n  - {name: a, listen: "127.0.0.1:1", target: "127.0.0.1:2"}\n  - {name: a, listen: "127.0.0.1:1", target: "127.0.0.1:3"}\n',
    );
    expect(out).toContain('listeners[1].name: duplicate listener name "a"');
    expect(out).toContain('listeners[1].listen: address 127.0.0.1:1 already used by listeners[0]');
  });

  it('refuses a listener naming a policy that does not exist', () => {
    expect(
      issuesOf(
        'listeners:\n  - {name: a, listen: "127.0.0.1:1", target: "127.0.0.1:2", policy: nope}\n',
      ),
    ).toContain('listeners[0].policy: no policy named "nope" under policies');
  });

  it('reports YAML syntax errors with their line', () => {
    expect(issuesOf('listeners:\n  - name: a\n   bad: [\n')).toMatch(
      /^portwarden\.yaml:\d+:\d+: \(root\): /,
    );
  });

  it('reports policy errors with their path under policies', () => {
    const out = issuesOf(
      'policies:\n  db:\n    rules:\n      - id: r1\n        allow: { sources: ["10.0.0.300/8"] }\n',
    );
    expect(out).toContain('policies.db.rules[0].allow.sources[0]');
  });

  it('refuses a bad duration', () => {
    expect(
      issuesOf(
        'listeners:\n  - {name: a, listen: "127.0.0.1:1", target: "127.0.0.1:2", idle_timeout: soon}\n',
      ),
    ).toContain('listeners[0].idle_timeout: expected a duration like 500ms, 30s, 5m, got "soon"');
  });
});
