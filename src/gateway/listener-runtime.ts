/**
 * Everything a connection needs from its listener: config, recorder, policy, session
 * factory, limits and the set of live connections. Built once per listener at start (and
 * swapped on reload); connections hold a reference to it.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import type { CloseReason } from '../audit/event.js';
import type { Recorder } from '../audit/recorder.js';
import type { ListenerConfig } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { ActionFacts, ConnectionFacts, Decision, PolicyDecider } from '../policy/action.js';
import type { SessionFactory, SessionOptions } from '../protocols/session.js';
import type { IdentityRuntime } from '../identity/index.js';
import type { GatewayConnection } from './connection.js';

export interface ListenerRuntimeDeps {
  readonly config: ListenerConfig;
  readonly recorder: Recorder;
  readonly policy: PolicyDecider;
  readonly policyVersion: string | null;
  readonly sessionFactory: SessionFactory;
  readonly ecsProtocol: string;
  readonly log: Logger;
  readonly tlsContext: tls.SecureContext | null;
  readonly onStoreFailure: 'block' | 'allow';
  /** Look up the local client process when the policy needs it (null when not local). */
  readonly lookupProcess?: (conn: GatewayConnection) => ConnectionFacts['process'];
  readonly onRefused?: (reason: CloseReason, detail: string) => void;
  /** Identities and grants (listener `auth: gateway`, policy `grant: required`). */
  readonly identity?: IdentityRuntime;
}

export class ListenerRuntime {
  readonly config: ListenerConfig;
  readonly recorder: Recorder;
  readonly sessionFactory: SessionFactory;
  readonly sessionOptions: SessionOptions;
  readonly ecsProtocol: string;
  readonly log: Logger;
  readonly tlsContext: tls.SecureContext | null;
  readonly trustedProxies: net.BlockList | null;
  readonly connections = new Set<GatewayConnection>();
  private readonly perSource = new Map<string, number>();
  private deps: ListenerRuntimeDeps;
  accepting = true;

  constructor(deps: ListenerRuntimeDeps) {
    this.deps = deps;
    this.config = deps.config;
    this.recorder = deps.recorder;
    this.sessionFactory = deps.sessionFactory;
    this.ecsProtocol = deps.ecsProtocol;
    this.log = deps.log;
    this.tlsContext = deps.tlsContext;
    const c = deps.config;
    this.sessionOptions = {
      listener: c.name,
      maxMessageBytes: c.max_message_bytes,
      recordValues: c.record_values || c.record_parameters === true,
      extra: { forwarded: c.forwarded, upstream_tls: c.upstream_tls },
    };
    this.trustedProxies = c.trusted_proxies.length > 0 ? buildBlockList(c.trusted_proxies) : null;
  }

  get identity(): IdentityRuntime | undefined {
    return this.deps.identity;
  }

  get policyVersion(): string | null {
    return this.deps.policyVersion;
  }

  /** Swap the policy (hot reload); live connections use the new one for their next action. */
  setPolicy(policy: PolicyDecider, version: string | null): void {
    this.deps = { ...this.deps, policy, policyVersion: version };
  }

  /** Admit a connection or say why not; counts it when admitted. */
  checkLimits(conn: GatewayConnection): string | null {
    if (!this.accepting) return 'shutting down';
    if (this.connections.size >= this.config.max_connections) {
      return `listener ${this.config.name} has ${this.connections.size} connections (max_connections ${this.config.max_connections})`;
    }
    const n = this.perSource.get(conn.peerIp) ?? 0;
    if (n >= this.config.max_connections_per_source) {
      return `source ${conn.peerIp} has ${n} connections (max_connections_per_source ${this.config.max_connections_per_source})`;
    }
    this.connections.add(conn);
    this.perSource.set(conn.peerIp, n + 1);
    return null;
  }

  forget(conn: GatewayConnection): void {
    if (!this.connections.delete(conn)) return;
    const n = (this.perSource.get(conn.peerIp) ?? 1) - 1;
    if (n <= 0) this.perSource.delete(conn.peerIp);
    else this.perSource.set(conn.peerIp, n);
  }

  onRefused(reason: CloseReason, conn: GatewayConnection, detail: string): void {
    this.log.info(
      {
        listener: this.config.name,
        connection: conn.id,
        source: `${conn.sourceIp}:${conn.sourcePort}`,
        reason,
        detail,
      },
      'connection refused',
    );
    this.deps.onRefused?.(reason, detail);
  }

  /** Strict mode with `on_store_failure: block` refuses traffic it could not record. */
  refuseForStore(): boolean {
    return (
      this.deps.onStoreFailure === 'block' && (!this.recorder.isHealthy() || this.recorder.isFull())
    );
  }

  decideConnection(facts: ConnectionFacts, at: Date): Decision {
    try {
      return this.deps.policy.decideConnection(facts, at);
    } catch (err) {
      return { verdict: 'deny', reason: `evaluation error: ${errorMessage(err)}` };
    }
  }

  decideAction(facts: ConnectionFacts, action: ActionFacts, at: Date): Decision {
    try {
      return this.deps.policy.decideAction(facts, action, at);
    } catch (err) {
      return { verdict: 'deny', reason: `evaluation error: ${errorMessage(err)}` };
    }
  }

  processFacts(conn: GatewayConnection): { process?: ConnectionFacts['process'] } {
    if (!this.deps.lookupProcess) return {};
    return { process: this.deps.lookupProcess(conn) };
  }
}

function buildBlockList(cidrs: readonly string[]): net.BlockList {
  const list = new net.BlockList();
  for (const entry of cidrs) {
    const [ip = '', bits] = entry.split('/');
    const type = net.isIPv6(ip) ? 'ipv6' : 'ipv4';
    if (bits === undefined) list.addAddress(ip, type);
    else list.addSubnet(ip, Number(bits), type);
  }
  return list;
}
