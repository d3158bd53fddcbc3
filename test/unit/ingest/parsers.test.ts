/**
 * The three ingest parsers over fixtures built from reference/vectors.md (auditd
 * connect/accept, conntrack events, Kubernetes audit) plus malformed lines, which are
 * counted with a reason and never throw.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AuditdParser,
  ConntrackParser,
  type Ingested,
  K8sAuditParser,
  type LineParser,
  Malformed,
  decodeSaddr,
} from '../../../src/ingest/index.js';

const fixture = (name: string): string[] =>
  readFileSync(new URL(`../../fixtures/ingest/${name}`, import.meta.url), 'utf8')
    .replace(/\n$/, '')
    .split('\n');

function feed(parser: LineParser, lines: readonly string[]): { events: Ingested[]; bad: string[] } {
  const events: Ingested[] = [];
  const bad: string[] = [];
  for (const l of lines) {
    const out = parser.line(l);
    if (out instanceof Malformed) bad.push(out.reason);
    else events.push(...out);
  }
  events.push(...parser.end());
  return { events, bad };
}

const body = (e: Ingested): Record<string, unknown> =>
  JSON.parse(JSON.stringify(e.input)) as Record<string, unknown>;

describe('auditd', () => {
  it('decodes the vectors.md saddr example and IPv6', () => {
    expect(decodeSaddr('02000050CB00716E0000000000000000')).toEqual({
      family: 'ipv4',
      ip: '203.0.113.110',
      port: 80,
    });
    expect(decodeSaddr('0A00D4310000000020010DB8000000000000000000000001000000000000')).toEqual({
      family: 'ipv6',
      ip: '2001:db8::1',
      port: 54321,
    });
    expect(decodeSaddr('01002F746D70')).toBeNull();
    expect(decodeSaddr('02')).toBeInstanceOf(Malformed);
  });

  it('pairs SYSCALL and SOCKADDR by serial: connect, accept4, in-progress connect; skips AF_UNIX', () => {
    const parser = new AuditdParser();
    const { events, bad } = feed(parser, fixture('auditd.log'));
    expect(bad).toEqual(['no type=', 'no msg=audit(<epoch>:<serial>)', 'saddr is not hex']);
    expect(parser.skipped).toBe(1);
    expect(events.map((e) => e.input.event.action)).toEqual([
      'ingest-auditd-connect',
      'ingest-auditd-accept',
      'ingest-auditd-connect',
    ]);
    const [connect, accept, pending] = events.map(body);
    expect(connect).toMatchObject({
      event: { module: 'auditd', outcome: 'success' },
      destination: { ip: '203.0.113.110', port: 80 },
      process: { pid: 1234, parent: { pid: 900 }, name: 'curl', executable: '/usr/bin/curl' },
      user: { id: '1000' },
      auditd: { serial: '4567', syscall: '42', auid: '1000', key: 'net-connect' },
      ingest: { original_timestamp: '2023-11-14T22:13:20.123000000Z' },
    });
    expect(events[0]).toMatchObject({
      destinationIp: '203.0.113.110',
      destinationPort: 80,
      sourceIp: null,
    });
    expect(accept).toMatchObject({
      source: { ip: '2001:db8::1', port: 54321 },
      network: { type: 'ipv6' },
    });
    expect(events[1]).toMatchObject({ sourceIp: '2001:db8::1', sourcePort: 54321 });
    // comm logged hex-encoded (it has a space); EINPROGRESS is not a failure yet.
    expect(pending).toMatchObject({
      event: { outcome: 'unknown' },
      process: { name: 'my app', executable: '/opt/my app/bin' },
      destination: { ip: '192.168.10.10', port: 5402 },
    });
  });

  it('gives the same events fed whole or with interleaved blank lines', () => {
    const lines = fixture('auditd.log');
    const a = feed(new AuditdParser(), lines).events.map(body);
    const b = feed(
      new AuditdParser(),
      lines.flatMap((l) => [l, '']),
    ).events.map(body);
    expect(b).toEqual(a);
  });
});

describe('conntrack', () => {
  it('reads NEW/UPDATE/DESTROY with non-padded microseconds and finds DNAT in the reply tuple', () => {
    const { events, bad } = feed(new ConntrackParser(), fixture('conntrack.log'));
    expect(bad).toEqual([
      'no [NEW]/[UPDATE]/[DESTROY] event',
      'src is not an IP address',
      'bad sport',
    ]);
    expect(events.map((e) => e.input.event.action)).toEqual([
      'ingest-conntrack-new',
      'ingest-conntrack-update',
      'ingest-conntrack-destroy',
      'ingest-conntrack-new',
      'ingest-conntrack-new',
    ]);
    const [created, updated, destroyed, udp, v6] = events.map(body);
    expect(created).toMatchObject({
      source: { ip: '10.0.0.5', port: 51234 },
      destination: { ip: '10.96.0.20', port: 5432, nat: { ip: '10.244.1.7', port: 5432 } },
      network: { transport: 'tcp', iana_number: '6', type: 'ipv4' },
      conntrack: { event: 'new', state: 'SYN_SENT', timeout: 120, flags: ['unreplied'] },
      // [1700000000.12345]: 12345 microseconds, not .12345 seconds.
      ingest: { original_timestamp: '2023-11-14T22:13:20.012345000Z' },
    });
    expect(events[0]?.communityId).toMatch(/^1:/);
    expect(updated).toMatchObject({
      conntrack: { state: 'ESTABLISHED', flags: ['assured'], attributes: { mark: '0', use: '1' } },
    });
    expect(destroyed).toMatchObject({
      conntrack: {
        original: { packets: 12, bytes: 1800 },
        reply: { packets: 10, bytes: 4000 },
        attributes: { id: '3456' },
      },
      ingest: { original_timestamp: '2023-11-14T22:13:29.000007000Z' },
    });
    expect(udp).toMatchObject({ network: { transport: 'udp' }, destination: { port: 53 } });
    expect(udp).not.toHaveProperty('ingest.original_timestamp');
    expect(udp).not.toHaveProperty('destination.nat');
    expect(v6).toMatchObject({ source: { ip: '2001:db8::1' }, network: { type: 'ipv6' } });
  });

  it('a community id joins the flow with Zeek/Suricata (vector from vectors.md)', () => {
    const out = new ConntrackParser().line(
      '[1.1]\t [NEW] ipv4 2 tcp 6 120 SYN_SENT src=1.2.3.4 dst=5.6.7.8 sport=1122 dport=3344',
    );
    expect(out).not.toBeInstanceOf(Malformed);
    if (!(out instanceof Malformed))
      expect(out[0]?.communityId).toBe('1:wCb3OG7yAFWelaUydu0D+125CLM=');
  });
});

describe('kubernetes audit', () => {
  it('normalizes port-forward and exec; source is the last sourceIPs entry; bodies are not copied', () => {
    const { events, bad } = feed(new K8sAuditParser(), fixture('k8s-audit.jsonl'));
    expect(bad).toEqual([
      'not JSON',
      'auditID, verb or requestURI missing',
      'not an audit.k8s.io Event',
      'not a JSON object',
    ]);
    expect(events.map((e) => e.input.event.action)).toEqual([
      'ingest-kubernetes-portforward',
      'ingest-kubernetes-exec',
      'ingest-kubernetes',
    ]);
    const [pf, exec, list] = events.map(body);
    expect(pf).toMatchObject({
      event: { module: 'kubernetes', outcome: 'success', category: ['network'] },
      source: { ip: '10.0.0.12' },
      destination: { port: 5432 },
      user: { name: 'alice@example.com', id: 'u-1' },
      url: { path: '/api/v1/namespaces/orders/pods/orders-db-0/portforward' },
      kubernetes: {
        namespace: 'orders',
        name: 'orders-db-0',
        subresource: 'portforward',
        ports: [5432],
        audit: {
          stage: 'ResponseStarted',
          source_ips: ['203.0.113.7', '10.0.0.12'],
          groups: ['devs', 'system:authenticated'],
        },
      },
    });
    expect(events[0]).toMatchObject({ sourceIp: '10.0.0.12', destinationPort: 5432 });
    expect(exec).toMatchObject({
      event: { outcome: 'failure', category: ['process'] },
      http: { response: { status_code: 403 } },
      kubernetes: { audit: { impersonated_user: 'system:serviceaccount:orders:debug' } },
    });
    expect(JSON.stringify(exec)).not.toContain('do-not-copy');
    expect(list).toMatchObject({
      kubernetes: { resource: 'secrets' },
      event: { outcome: 'success' },
    });
  });
});
