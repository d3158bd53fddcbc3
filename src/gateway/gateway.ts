/**
 * The running gateway: the embedded store, the recorder, policies and one Listener per
 * configured service. `start` refuses to listen if anything is wrong; `stop` drains.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import tls from 'node:tls';
import type { Logger } from 'pino';
import { Checkpointer } from '../audit/checkpointer.js';
import { loadOrCreateNodeKey } from '../audit/integrity.js';
import { Recorder } from '../audit/recorder.js';
import type { LoadedConfig, ListenerConfig } from '../config/index.js';
import { PortwardenError, errorMessage } from '../errors.js';
import { IdentityRuntime } from '../identity/index.js';
import { AUDIT_ONLY, compilePolicies } from '../policy/index.js';
import type { PolicyDecider } from '../policy/index.js';
import { ECS_PROTOCOL, initProtocols, sessionFactoryFor } from '../protocols/index.js';
import { startSources, type FileTailer } from '../ingest/index.js';
import { startPublisher, type Publisher } from '../ship/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/index.js';
import { Listener } from './listener.js';
import { ListenerRuntime } from './listener-runtime.js';
import { StoreGate } from './store-gate.js';

type PolicyMap = ReadonlyMap<string, PolicyDecider & { readonly version: string }>;

function compileOrThrow(raw: unknown): PolicyMap {
  const result = compilePolicies(raw);
  if (!result.ok) {
    throw new PortwardenError('PW_ERR_POLICY', {
      detail: result.issues.map((i) => `policies.${i.path.join('.')}: ${i.message}`).join('; '),
    });
  }
  return result.policies;
}

export interface GatewayOptions {
  readonly log: Logger;
  /** Policies by name, compiled by the policy module (absent: every listener audit-only). */
  readonly policies?: PolicyMap;
  /** An already open store (tests); otherwise `store:` or `<data_dir>/portwarden.db`. */
  readonly store?: Store;
}

export class Gateway {
  readonly store: Store;
  readonly recorder: Recorder;
  /** The Merkle tree and signed checkpoints of this node. */
  readonly checkpointer: Checkpointer;
  readonly listeners: Listener[] = [];
  readonly loaded: LoadedConfig;
  /** What traffic passes while the store refuses writes (`audit.on_store_failure`). */
  readonly storeGate: StoreGate;
  private readonly log: Logger;
  private sweepTimer: NodeJS.Timeout | null = null;
  private identityRuntime: IdentityRuntime | null = null;
  private stopped = false;
  /** Ships records to NATS JetStream when the config has `ship:` (docs/scale-out.md). */
  publisher: Publisher | null = null;
  /** Tails the `sources:` log files into this log (docs/ingest.md). */
  private sources: FileTailer | null = null;

  private constructor(
    loaded: LoadedConfig,
    store: Store,
    recorder: Recorder,
    checkpointer: Checkpointer,
    log: Logger,
  ) {
    this.checkpointer = checkpointer;
    this.loaded = loaded;
    this.store = store;
    this.recorder = recorder;
    this.log = log;
    this.storeGate = new StoreGate(recorder, loaded.config.audit.on_store_failure, log);
  }

  /** Open the store and build every listener (nothing listens yet). */
  static create(loaded: LoadedConfig, opts: GatewayOptions): Gateway {
    const config = loaded.config;
    mkdirSync(config.data_dir, { recursive: true, mode: 0o700 });
    const store =
      opts.store ?? openStore(config, { fsync: config.audit.fsync, writerThread: true });
    const key = loadOrCreateNodeKey(config.data_dir, config.node);
    const checkpointer = new Checkpointer(store, key, config.node, config.data_dir, opts.log);
    const recorder = new Recorder(store, {
      mode: config.audit.mode,
      flushMs: config.audit.flush_ms,
      observer: config.node,
      log: opts.log,
      tree: checkpointer,
    });
    const gw = new Gateway(loaded, store, recorder, checkpointer, opts.log);
    const policies = opts.policies ?? compileOrThrow(config.policies);
    for (const l of config.listeners) gw.listeners.push(new Listener(gw.buildRuntime(l, policies)));
    return gw;
  }

  /** Identities and grants (docs/identity.md), built with the first listener. */
  get identity(): IdentityRuntime {
    this.identityRuntime ??= new IdentityRuntime(
      this.loaded.config,
      this.store,
      this.recorder,
      this.log,
    );
    return this.identityRuntime;
  }

  private buildRuntime(l: ListenerConfig, policies: PolicyMap): ListenerRuntime {
    let factory = sessionFactoryFor(l.protocol);
    if (!factory) {
      this.log.warn(
        { listener: l.name, protocol: l.protocol },
        'protocol not built in this version: relayed as tcp (connections recorded, actions not)',
      );
      factory = sessionFactoryFor('tcp');
    }
    if (!factory) throw new PortwardenError('PW_ERR_INTERNAL', { detail: 'tcp session missing' });
    let policy: PolicyDecider = AUDIT_ONLY;
    let version: string | null = null;
    if (l.policy !== undefined) {
      const compiled = policies.get(l.policy);
      if (!compiled)
        throw new PortwardenError('PW_ERR_POLICY', {
          detail: `listener ${l.name}: policy "${l.policy}" is not compiled`,
        });
      policy = compiled;
      version = compiled.version;
    } else {
      this.log.warn(
        { listener: l.name },
        'listener has no policy: audit-only (everything passes and is recorded)',
      );
    }
    return new ListenerRuntime({
      config: l,
      recorder: this.recorder,
      policy,
      policyVersion: version,
      sessionFactory: factory,
      ecsProtocol: ECS_PROTOCOL[l.protocol] ?? l.protocol,
      log: this.log,
      tlsContext: l.tls ? loadTls(l) : null,
      storeGate: this.storeGate,
      identity: this.identity,
    });
  }

  /** `<data_dir>/gateway.lock` holds the pid of the gateway writing this data dir. */
  get lockFile(): string {
    return join(this.loaded.config.data_dir, 'gateway.lock');
  }

  /** Bind every listener; on any failure nothing stays bound. */
  async start(): Promise<void> {
    await initProtocols(this.loaded.config.listeners.map((l) => l.protocol));
    writeFileSync(this.lockFile, `${process.pid}\n`, { mode: 0o600 });
    this.identity.start();
    try {
      for (const l of this.listeners) await l.listen();
    } catch (err) {
      await Promise.all(this.listeners.map((l) => l.stopAccepting().catch(() => undefined)));
      throw err;
    }
    this.sweepTimer = setInterval(
      () => this.sweep(),
      sweepIntervalMs(this.loaded.config.listeners),
    );
    this.sweepTimer.unref();
    this.checkpointer.start(this.recorder, this.loaded.config.audit.checkpoint_interval);
    this.publisher = startPublisher(this.loaded.config, this.store, this.recorder, this.log);
    this.sources = startSources(this.loaded.config, this.recorder, this.log);
  }

  /**
   * Deadlines of every live connection: start-up, request head, progress (deadlines.ts). A
   * connection that ends here may leave the set while it is iterated, which a Set allows.
   */
  private sweep(): void {
    const now = Date.now();
    for (const l of this.listeners) for (const c of l.runtime.connections) c.sweep(now);
  }

  /** Live connections across listeners. */
  activeConnections(): number {
    return this.listeners.reduce((n, l) => n + l.runtime.connections.size, 0);
  }

  /**
   * Graceful stop: stop accepting, let connections finish up to `deadlineMs`, end the rest
   * with reason `shutdown`, commit every record, close the store.
   */
  async stop(deadlineMs = this.loaded.config.shutdown_timeout): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.sweepTimer) clearInterval(this.sweepTimer);
    this.identityRuntime?.stop();
    await Promise.all(this.listeners.map((l) => l.stopAccepting()));
    const until = Date.now() + deadlineMs;
    while (this.activeConnections() > 0 && Date.now() < until) await delay(20);
    for (const l of this.listeners)
      for (const c of [...l.runtime.connections]) c.closeWith('shutdown', 'gateway stopping');
    const hard = Date.now() + 2000;
    while (this.activeConnections() > 0 && Date.now() < hard) await delay(10);
    this.sources?.stop();
    // The last checkpoint covers every record of this run.
    this.checkpointer.stop();
    this.checkpointer.checkpointNow();
    if (!this.recorder.close())
      this.log.error(
        { err: this.recorder.lastStoreError },
        'records could not be committed at shutdown',
      );
    await this.publisher?.stop(Math.min(deadlineMs, 2000));
  }

  /** Close the store (after stop, and after any final records such as a checkpoint). */
  closeStore(): void {
    try {
      this.recorder.close();
      this.store.close();
      rmSync(this.lockFile, { force: true });
    } catch (err) {
      this.log.error({ err: errorMessage(err) }, 'closing the store failed');
    }
  }
}

function loadTls(l: ListenerConfig): tls.SecureContext {
  const t = l.tls;
  if (!t) throw new PortwardenError('PW_ERR_INTERNAL', { detail: 'no tls' });
  try {
    return tls.createSecureContext({
      cert: readFileSync(t.cert),
      key: readFileSync(t.key),
      ...(t.ca ? { ca: readFileSync(t.ca) } : {}),
    });
  } catch (err) {
    throw new PortwardenError(
      'PW_ERR_CONFIG',
      { detail: `listeners ${l.name}.tls: ${errorMessage(err)}` },
      { cause: err },
    );
  }
}

/**
 * Every second; more often when a listener has a timeout under 2 s, so a deadline is enforced
 * within half of it (at most every 100 ms).
 */
function sweepIntervalMs(listeners: readonly ListenerConfig[]): number {
  let shortest = 2000;
  for (const l of listeners)
    shortest = Math.min(shortest, l.idle_timeout, l.handshake_timeout, l.header_timeout);
  return Math.max(100, Math.floor(shortest / 2));
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
