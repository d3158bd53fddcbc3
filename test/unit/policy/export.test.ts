// Firewall exports: nftables text checked by `nft -c -f` when nft is installed; NetworkPolicy
// YAML parsed back and checked field by field (networking.k8s.io/v1 NetworkPolicySpec).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { PortwardenError } from '../../../src/errors.js';
import {
  allowedSources,
  compilePolicies,
  exportK8s,
  exportNftables,
  networkPolicies,
  type CompiledPolicy,
  type ExportListener,
} from '../../../src/policy/index.js';

const NFT = '/usr/sbin/nft';
const dir = mkdtempSync(join(tmpdir(), 'pw-policy-export-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function compiled(raw: unknown): ReadonlyMap<string, CompiledPolicy> {
  const r = compilePolicies(raw);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.policies;
}

const policies = compiled({
  db: {
    rules: [
      {
        id: 'lan',
        allow: { sources: ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32'], users: ['app'] },
      },
      { id: 'vpn', alert: { sources: ['192.168.1.1', '10.0.0.0/8'] } },
      { id: 'block', deny: { sources: ['10.9.0.0/16'] } },
    ],
  },
  open: { default: 'allow' },
  somewhere: {
    rules: [
      { id: 'x', deny: { sources: ['10.0.0.0/8'] } },
      { id: 'y', allow: { users: ['a'] } },
    ],
  },
  closed: { rules: [] },
});

const listeners: ExportListener[] = [
  {
    name: 'orders-db',
    listen: { host: '0.0.0.0', port: 15432 },
    target: { host: '10.1.5.5', port: 5432 },
    policy: 'db',
  },
  {
    name: 'Web API',
    listen: { host: '::1', port: 18080 },
    target: { host: 'fd00::5', port: 80 },
    policy: 'open',
  },
  {
    name: 'cache',
    listen: { host: '127.0.0.1', port: 16379 },
    target: { host: 'redis.internal', port: 6379 },
    policy: 'closed',
  },
  {
    name: 'audit',
    listen: { host: '0.0.0.0', port: 13306 },
    target: { host: '127.0.0.1', port: 3306 },
  },
];

describe('allowedSources', () => {
  test('union of allow/alert CIDRs; deny rules ignored; any when unconstrained', () => {
    const db = allowedSources(listeners[0] as ExportListener, policies);
    expect(db === 'any' ? db : db.map((c) => `${c.address}/${c.prefix}`)).toEqual([
      '10.0.0.0/8',
      '10.1.0.0/16',
      '2001:db8::/32',
      '192.168.1.1/32',
    ]);
    expect(allowedSources({ ...listeners[0]!, policy: 'open' }, policies)).toBe('any');
    expect(allowedSources({ ...listeners[0]!, policy: 'somewhere' }, policies)).toBe('any');
    expect(allowedSources({ ...listeners[0]!, policy: 'closed' }, policies)).toEqual([]);
    expect(allowedSources(listeners[3]!, policies)).toBe('any');
  });
  test('a missing policy is a PW_ERR_POLICY error', () => {
    expect(() => allowedSources({ ...listeners[0]!, policy: 'nope' }, policies)).toThrow(
      PortwardenError,
    );
  });
});

describe('exportNftables', () => {
  const text = exportNftables(listeners, policies, { gatewayAddresses: ['10.1.2.9', 'fd00::9'] });

  test('listener chain: allowed sources accepted, the rest dropped, per port', () => {
    expect(text).toContain(
      'tcp dport 15432 ip saddr { 10.0.0.0/8, 10.1.0.0/16, 192.168.1.1 } accept',
    );
    expect(text).toContain('tcp dport 15432 ip6 saddr { 2001:db8::/32 } accept');
    expect(text).toContain('tcp dport 15432 drop');
    expect(text).toContain('ip6 daddr ::1 tcp dport 18080 accept');
    expect(text).not.toContain('tcp dport 18080 drop');
    expect(text).toContain('ip daddr 127.0.0.1 tcp dport 16379 drop');
    expect(text).not.toContain('tcp dport 16379 ip saddr');
    expect(text).toContain('tcp dport 13306 accept');
  });
  test('target chain: only gateway addresses reach each target; names are left commented', () => {
    expect(text).toContain(
      'ip daddr 10.1.5.5 tcp dport 5432 ip saddr != { 127.0.0.1, 10.1.2.9 } drop',
    );
    expect(text).toContain('ip6 daddr fd00::5 tcp dport 80 ip6 saddr != { ::1, fd00::9 } drop');
    expect(text).toMatch(/^ {4}# ip daddr <address> tcp dport 6379 /m);
  });
  test('nft -c -f accepts the ruleset (and rejects a broken one)', () => {
    const file = join(dir, 'portwarden.nft');
    writeFileSync(file, text);
    if (!existsSync(NFT)) {
      // Without nft, at least the braces balance.
      expect(text.split('{').length).toBe(text.split('}').length);
      return;
    }
    expect(() => execFileSync(NFT, ['-c', '-f', file], { stdio: 'pipe' })).not.toThrow();
    writeFileSync(file, text.replace('tcp dport 15432 drop', 'tcp dport 15432 dorp'));
    expect(() => execFileSync(NFT, ['-c', '-f', file], { stdio: 'pipe' })).toThrow();
  });
});

describe('exportK8s', () => {
  const options = {
    namespace: 'data',
    gatewaySelector: { 'app.kubernetes.io/name': 'portwarden' },
    gatewayNamespaceSelector: { 'kubernetes.io/metadata.name': 'gateway' },
    targetSelectors: { 'orders-db': { app: 'postgres' } },
  };

  test('one NetworkPolicy per listener: ingress to the target port only from gateway pods', () => {
    const docs = parseAllDocuments(exportK8s(listeners, policies, options)).map(
      (d) => d.toJS() as unknown,
    );
    expect(docs).toHaveLength(listeners.length);
    expect(docs).toEqual(networkPolicies(listeners, policies, options));
    const first = docs[0];
    expect(first).toEqual({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'NetworkPolicy',
      metadata: {
        name: 'portwarden-target-orders-db',
        namespace: 'data',
        labels: { 'app.kubernetes.io/managed-by': 'portwarden' },
      },
      spec: {
        podSelector: { matchLabels: { app: 'postgres' } },
        policyTypes: ['Ingress'],
        ingress: [
          {
            from: [
              {
                podSelector: { matchLabels: { 'app.kubernetes.io/name': 'portwarden' } },
                namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'gateway' } },
              },
            ],
            ports: [{ protocol: 'TCP', port: 5432 }],
          },
        ],
      },
    });
  });
  test('names are DNS labels; default target selector names the listener', () => {
    const [, web] = networkPolicies(listeners, policies, options);
    expect(web?.metadata.name).toBe('portwarden-target-web-api');
    expect(web?.spec.podSelector.matchLabels).toEqual({ 'portwarden.io/target': 'Web API' });
    expect(web?.spec.ingress[0]?.ports).toEqual([{ protocol: 'TCP', port: 80 }]);
  });
  test('gatewayIngress fences listener ports to allowed CIDRs and keeps extra ports open', () => {
    const all = networkPolicies(listeners, policies, {
      ...options,
      gatewayIngress: true,
      gatewayExtraPorts: [8080],
    });
    const gw = all[all.length - 1];
    expect(gw?.metadata.name).toBe('portwarden-gateway');
    expect(gw?.spec.podSelector.matchLabels).toEqual(options.gatewaySelector);
    expect(gw?.spec.ingress).toEqual([
      {
        from: ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32', '192.168.1.1/32'].map((cidr) => ({
          ipBlock: { cidr },
        })),
        ports: [{ protocol: 'TCP', port: 15432 }],
      },
      { ports: [{ protocol: 'TCP', port: 18080 }] },
      // cache (no allowed sources) gets no rule: isolated, nobody may connect.
      { ports: [{ protocol: 'TCP', port: 13306 }] },
      { ports: [{ protocol: 'TCP', port: 8080 }] },
    ]);
  });
});
