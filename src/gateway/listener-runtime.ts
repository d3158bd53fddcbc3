/**
 * Everything a connection needs from its listener: config, recorder, policy, session
 * factory, limits and the set of live connections. Built once per listener at start (and
 * swapped on reload); connections hold a reference to it.
 */
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import type tls from 'node:tls';
import type { Logger } from 'pino';
import type { CloseReason } from '../audit/event.js';
import type { Recorder } from '../audit/recorder.js';
import type { ListenerConfig } from '../config/index.js';
import { errorMessage } from '../errors.js';
import { findLocalClientProcess, type Endpoint, type LocalProcess } from '../identity/index.js';
import type { ActionFacts, ConnectionFacts, Decision, PolicyDecider } from '../policy/action.js';
import { CompiledPolicy } from '../policy/index.js';
import { hasActions, storeRefusal, storeRefusalFor } from '../protocols/index.js';
import type {
  ConnectionRefusalFactory,
  SessionFactory,
  SessionOptions,
} from '../protocols/index.js';
import type { IdentityRuntime } from '../identity/index.js';
import type { GatewayConnection } from './connection.js';
import type { StoreGate } from './store-gate.js';

export interface ListenerRuntimeDeps {
  readonly config: ListenerConfig;
  readonly recorder: Recorder;
  readonly policy: PolicyDecider;
  readonly policyVersion: string | null;
  readonly sessionFactory: SessionFactory;
  readonly ecsProtocol: string;
  readonly log: Logger;
  readonly tlsContext: tls.SecureContext | null;
  /** What passes while the audit store refuses writes (`audit.on_store_failure`). */
  readonly storeGate: StoreGate;
  /** Find the local process behind a client socket (default: through /proc). */
  readonly lookupProcess?: (client: Endpoint, server: Endpoint) => Promise<LocalProcess | null>;
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
  /** The protocol's sessions decide actions (so they can be refused natively). */
  private readonly hasActions: boolean;
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
    this.hasActions = hasActions(c.protocol);
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

  /** `on_store_failure: refuse` or `block`: new connections are refused while the store fails. */
  refuseForStore(): boolean {
    return this.deps.storeGate.refusesConnections();
  }

  /** How a refused new connection is answered: natively (`refuse`), or null (closed). */
  storeRefusal(): ConnectionRefusalFactory | null {
    return this.deps.storeGate.mode === 'refuse' ? storeRefusalFor(this.config.protocol) : null;
  }

  /**
   * A connection whose last gating record has sequence `gatingSeq` may forward bytes without
   * waiting for the pending records (store-gate.ts); never on `tcp`/`tls`, which have no
   * actions to refuse: their bytes are held as in `block`.
   */
  passesWithoutCommit(gatingSeq: number): boolean {
    return this.deps.storeGate.passesWithoutCommit(gatingSeq) && this.hasActions;
  }

  decideConnection(facts: ConnectionFacts, at: Date): Decision {
    try {
      return this.deps.policy.decideConnection(facts, at);
    } catch (err) {
      return { verdict: 'deny', reason: `evaluation error: ${errorMessage(err)}` };
    }
  }

  /**
   * Policy's answer; an action policy lets through is refused with reason
   * `store-unavailable` while the store refuses writes (strict mode, `on_store_failure: refuse`).
   */
  decideAction(facts: ConnectionFacts, action: ActionFacts, at: Date): Decision {
    let decision: Decision;
    try {
      decision = this.deps.policy.decideAction(facts, action, at);
    } catch (err) {
      return { verdict: 'deny', reason: `evaluation error: ${errorMessage(err)}` };
    }
    if (decision.verdict === 'deny' || !this.deps.storeGate.refusesActions()) return decision;
    return storeRefusal(decision.policyVersion);
  }

  /** True when the policy has `process` conditions: only then is the client looked up. */
  get needsProcess(): boolean {
    const policy = this.deps.policy;
    return policy instanceof CompiledPolicy && policy.needsProcess;
  }

  /**
   * The local process behind a client socket (null: not on this host, gone, or unnamed).
   * Only the direct peer can be local; a PROXY-declared source never is.
   */
  async lookupProcess(client: Endpoint, server: Endpoint): Promise<ConnectionFacts['process']> {
    if (!isLocalAddress(client.ip)) return null;
    try {
      const found = await (this.deps.lookupProcess ?? findLocalClientProcess)(client, server);
      if (found === null || found.exe === null || found.uid === null) return null;
      return { pid: found.pid, exe: found.exe, uid: found.uid };
    } catch (err) {
      this.log.warn(
        { err: errorMessage(err), listener: this.config.name },
        'process lookup failed',
      );
      return null;
    }
  }
}

let localAddresses: { readonly at: number; readonly set: ReadonlySet<string> } | null = null;

/** Loopback, or an address of one of this host's interfaces (refreshed every 10 s). */
function isLocalAddress(ip: string): boolean {
  if (ip.startsWith('127.') || ip === '::1' || ip.startsWith('::ffff:127.')) return true;
  const now = Date.now();
  if (localAddresses === null || now - localAddresses.at > 10_000) {
    const set = new Set<string>();
    for (const list of Object.values(networkInterfaces()))
      for (const a of list ?? []) set.add(a.address);
    localAddresses = { at: now, set };
  }
  return localAddresses.set.has(ip.startsWith('::ffff:') ? ip.slice(7) : ip);
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
