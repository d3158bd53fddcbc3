/**
 * The drift audit: what listens on this host against what the config declares. Findings:
 * - `undeclared-listener`: a listening socket that is neither the gateway's own nor a
 *   declared target — a blind spot nobody audits;
 * - `target-not-listening`: a declared target on this host with no listening socket;
 * - `target-unreachable`: a declared target on another host that refuses a connect test;
 * - `target-reachable-directly`: a target reached without the gateway — seen in ingested
 *   conntrack/auditd records, or (for a target on this host bound beyond loopback) a connect
 *   test to a non-loopback address of this host that succeeds;
 * - `listener-undocumented`: a listener without `owner` or `purpose`.
 */
import { lookup } from 'node:dns/promises';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import type { Config } from '../config/index.js';
import type { HostPort } from '../config/index.js';
import type { Store } from '../store/index.js';
import type { ListeningSocket } from './scan.js';
import type { SocketOwner } from './socket-owners.js';

export const FINDING_KINDS = [
  'undeclared-listener',
  'target-not-listening',
  'target-unreachable',
  'target-reachable-directly',
  'listener-undocumented',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export interface DriftFinding {
  readonly kind: FindingKind;
  readonly severity: 'low' | 'medium' | 'high';
  /** One sentence for people. */
  readonly detail: string;
  readonly ip: string | null;
  readonly port: number | null;
  readonly listener: string | null;
  readonly process: SocketOwner | null;
  readonly evidence?: 'connect-test' | 'conntrack' | 'auditd';
  readonly missing?: readonly string[];
}

export interface DriftInput {
  readonly config: Config;
  readonly sockets: readonly ListeningSocket[];
  /** Addresses the gateway itself listens on (listeners, traps, API). */
  readonly ownEndpoints: readonly HostPort[];
  /** Processes whose sockets are the gateway's own (the running gateway's pid). */
  readonly ownPids?: readonly number[];
  /** For evidence from ingested conntrack/auditd records (optional). */
  readonly store?: Store;
  readonly connectTimeoutMs?: number;
  /** This host's addresses (tests); default from os.networkInterfaces(). */
  readonly localAddresses?: readonly string[];
}

const SEVERITY: Readonly<Record<FindingKind, DriftFinding['severity']>> = {
  'undeclared-listener': 'medium',
  'target-not-listening': 'high',
  'target-unreachable': 'high',
  'target-reachable-directly': 'high',
  'listener-undocumented': 'low',
};

/** Run every drift check; findings sorted by kind, then port. */
export async function auditDrift(input: DriftInput): Promise<DriftFinding[]> {
  const local = new Set(input.localAddresses ?? hostAddresses());
  const findings: DriftFinding[] = [];
  const targets = await resolveTargets(input.config);
  const localTargetPorts = new Set<number>();
  for (const t of targets) {
    if (t.ips.some((ip) => isLocal(ip, local))) localTargetPorts.add(t.port);
  }
  const ownPids = new Set(input.ownPids ?? []);

  for (const socket of input.sockets) {
    if (input.ownEndpoints.some((e) => endpointCovers(e, socket))) continue;
    if (socket.processes.some((p) => ownPids.has(p.pid))) continue;
    if (localTargetPorts.has(socket.port)) continue;
    const owner = socket.processes[0] ?? null;
    findings.push(
      finding('undeclared-listener', {
        detail: `${formatEndpoint(socket.ip, socket.port)} listens (${describeOwner(owner)}) but no listener or target declares it`,
        ip: socket.ip,
        port: socket.port,
        process: owner,
      }),
    );
  }

  for (const t of targets) {
    const isLocalTarget = t.ips.some((ip) => isLocal(ip, local));
    if (isLocalTarget) findings.push(...(await checkLocalTarget(t, input, local)));
    else if (!(await anyConnects(t.ips, t.port, input.connectTimeoutMs ?? 2000)))
      findings.push(
        finding('target-unreachable', {
          detail: `target ${t.host}:${t.port} of listener ${t.listener} does not accept a connection from this host`,
          ip: t.ips[0] ?? null,
          port: t.port,
          listener: t.listener,
        }),
      );
    const ingested = ingestedEvidence(input.store, t, local);
    if (ingested !== null) findings.push(ingested);
  }

  for (const l of input.config.listeners) {
    const missing = [
      l.owner === undefined ? 'owner' : null,
      l.purpose === undefined ? 'purpose' : null,
    ].filter((m): m is string => m !== null);
    if (missing.length > 0)
      findings.push(
        finding('listener-undocumented', {
          detail: `listener ${l.name} has no ${missing.join(' and no ')}`,
          port: l.listen.port,
          listener: l.name,
          missing,
        }),
      );
  }
  return findings.sort(
    (a, b) =>
      FINDING_KINDS.indexOf(a.kind) - FINDING_KINDS.indexOf(b.kind) ||
      (a.port ?? 0) - (b.port ?? 0) ||
      (a.ip ?? '').localeCompare(b.ip ?? ''),
  );
}

interface Target {
  readonly listener: string;
  readonly host: string;
  readonly port: number;
  readonly ips: readonly string[];
}

async function resolveTargets(config: Config): Promise<Target[]> {
  return Promise.all(
    config.listeners.map(async (l) => {
      const { host, port } = l.target;
      let ips: string[];
      if (net.isIP(host) !== 0) ips = [host];
      else {
        try {
          ips = (await lookup(host, { all: true })).map((a) => a.address);
        } catch {
          ips = [];
        }
      }
      return { listener: l.name, host, port, ips };
    }),
  );
}

async function checkLocalTarget(
  t: Target,
  input: DriftInput,
  local: ReadonlySet<string>,
): Promise<DriftFinding[]> {
  const sockets = input.sockets.filter(
    (s) => s.port === t.port && t.ips.some((ip) => socketAccepts(s.ip, ip)),
  );
  if (sockets.length === 0) {
    return [
      finding('target-not-listening', {
        detail: `target ${t.host}:${t.port} of listener ${t.listener} is on this host but nothing listens there`,
        ip: t.ips[0] ?? null,
        port: t.port,
        listener: t.listener,
      }),
    ];
  }
  // Bound to loopback only: nobody but this host reaches it. Otherwise try a non-loopback
  // address of this host, as another machine would.
  for (const s of sockets) {
    if (isLoopback(s.ip)) continue;
    const candidates = isWildcard(s.ip)
      ? [...local].filter(
          (ip) => !isLoopback(ip) && !isWildcard(ip) && (s.family === 'tcp6' || net.isIPv4(ip)),
        )
      : [s.ip];
    for (const ip of candidates.slice(0, 4)) {
      if (await connects(ip, t.port, input.connectTimeoutMs ?? 2000)) {
        return [
          finding('target-reachable-directly', {
            detail: `target ${t.host}:${t.port} of listener ${t.listener} is bound to ${s.ip} and reachable without the gateway from this host at ${formatEndpoint(ip, t.port)}`,
            ip,
            port: t.port,
            listener: t.listener,
            process: s.processes[0] ?? null,
            evidence: 'connect-test',
          }),
        ];
      }
    }
  }
  return [];
}

/** A conntrack/auditd record of a connection to the target from another host. */
function ingestedEvidence(
  store: Store | undefined,
  t: Target,
  local: ReadonlySet<string>,
): DriftFinding | null {
  if (store === undefined) return null;
  const sinceNs = (BigInt(Date.now()) - 7n * 86_400_000n) * 1_000_000n;
  const page = store.search({ port: t.port, sinceNs, order: 'newest', limit: 1000 });
  for (const row of page.rows) {
    if (!row.action.startsWith('ingest-') || row.destinationPort !== t.port) continue;
    if (row.destinationIp === null || !t.ips.includes(row.destinationIp)) continue;
    if (row.sourceIp === null || isLocal(row.sourceIp, local)) continue;
    const module = /"module":"(auditd|conntrack)"/.exec(row.body ?? '')?.[1];
    const evidence = module === 'auditd' ? 'auditd' : 'conntrack';
    return finding('target-reachable-directly', {
      detail: `${row.sourceIp} connected to target ${t.host}:${t.port} of listener ${t.listener} without the gateway (${evidence} record ${row.id})`,
      ip: row.sourceIp,
      port: t.port,
      listener: t.listener,
      evidence,
    });
  }
  return null;
}

function finding(
  kind: FindingKind,
  fields: Partial<Omit<DriftFinding, 'kind' | 'severity'>> & { detail: string },
): DriftFinding {
  return {
    kind,
    severity: SEVERITY[kind],
    ip: null,
    port: null,
    listener: null,
    process: null,
    ...fields,
  };
}

function describeOwner(owner: SocketOwner | null): string {
  if (owner === null) return 'process not visible';
  return `pid ${owner.pid} ${owner.exe ?? owner.comm ?? '?'}${owner.user === null ? '' : ` as ${owner.user}`}`;
}

export function formatEndpoint(ip: string, port: number): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

function hostAddresses(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces()))
    for (const a of list ?? []) out.push(a.address);
  return out;
}

function isWildcard(ip: string): boolean {
  return ip === '0.0.0.0' || ip === '::';
}

function isLoopback(ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.') || ip.startsWith('::ffff:127.');
}

function isLocal(ip: string, local: ReadonlySet<string>): boolean {
  return isWildcard(ip) || isLoopback(ip) || local.has(ip) || ip === 'localhost';
}

/** Whether a socket bound to `bound` accepts connections to `ip` (`::` takes IPv4 too). */
function socketAccepts(bound: string, ip: string): boolean {
  if (bound === ip || bound === '::') return true;
  if (bound === '0.0.0.0') return net.isIPv4(ip);
  return bound === `::ffff:${ip}`;
}

function endpointCovers(e: HostPort, s: ListeningSocket): boolean {
  if (e.port !== s.port) return false;
  return e.host === s.ip || isWildcard(e.host) || isWildcard(s.ip) || e.host === 'localhost';
}

async function anyConnects(
  ips: readonly string[],
  port: number,
  timeoutMs: number,
): Promise<boolean> {
  for (const ip of ips) if (await connects(ip, port, timeoutMs)) return true;
  return false;
}

/** A TCP connect test: true when the handshake completes within the timeout. */
export function connects(host: string, port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
