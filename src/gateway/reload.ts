/**
 * Hot reload of policies. On SIGHUP, or when the config file changes (fs.watch on its
 * directory, so editors that replace the file are seen too; debounced), the file is loaded
 * and validated again. Valid: every listener runtime gets its new compiled policy (live
 * connections use it from their next action) and a `policy-reload` record says what changed.
 * Invalid: a `policy-reload` record with outcome failure and the reasons; the old policies
 * stay. Changes that need a restart (a listener's address, target, protocol…) are named in
 * the record and the log, and not applied.
 *
 * Every policy-reload record carries the whole policy state (each policy as written, its
 * version, which listener uses which), so `policy history` can show and diff any version
 * from the record alone.
 */
import { watch, readFileSync, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { parse } from 'yaml';
import type { Logger } from 'pino';
import { canonicalJson } from '../audit/canonical.js';
import type { JsonObject, JsonValue } from '../audit/event.js';
import { loadConfig, type Config, type ListenerConfig } from '../config/index.js';
import { errorMessage } from '../errors.js';
import {
  AUDIT_ONLY,
  attachmentChanges,
  changesJson,
  compilePolicies,
  describeChanges,
  policyChanges,
  policyJson,
  policyState,
  stateFromJson,
  stateJson,
  type PolicyChange,
  type PolicyState,
} from '../policy/index.js';
import type { Gateway } from './gateway.js';

/** What started a reload; recorded as `event.reason`. */
export type ReloadTrigger = 'start' | 'sighup' | 'file-change' | 'manual';

export interface ReloadResult {
  readonly ok: boolean;
  readonly changes: readonly PolicyChange[];
  readonly restartRequired: readonly string[];
  readonly error?: string;
  /** Sequence of the policy-reload record (-1 when nothing was recorded). */
  readonly sequence: number;
}

export interface PolicyReloaderOptions {
  /** The config file the gateway was started from. */
  readonly file: string;
  readonly log: Logger;
  /** Quiet time after the last file event before reloading (default 250 ms). */
  readonly debounceMs?: number;
}

export class PolicyReloader {
  private readonly gateway: Gateway;
  private readonly file: string;
  private readonly log: Logger;
  private readonly debounceMs: number;
  private state: PolicyState;
  private config: Config;
  private lastText: string;
  private watcher: FSWatcher | null = null;
  private timer: NodeJS.Timeout | null = null;

  constructor(gateway: Gateway, opts: PolicyReloaderOptions) {
    this.gateway = gateway;
    this.file = resolve(opts.file);
    this.log = opts.log;
    this.debounceMs = opts.debounceMs ?? 250;
    this.config = gateway.loaded.config;
    this.lastText = gateway.loaded.text;
    this.state = policyState(this.config.policies, this.config.listeners);
  }

  /** The policies in force now. */
  get current(): PolicyState {
    return this.state;
  }

  /**
   * Record the policies in force at start when they differ from the last policy-reload
   * record in the store (first start, or the file changed while the gateway was stopped).
   */
  recordStart(): number {
    const last = this.lastRecordedState();
    const changes = policyChanges(last, this.state);
    const attachments = attachmentChanges(last, this.state);
    if (last !== null && changes.length === 0 && attachments.length === 0) return -1;
    const lines = describeChanges(changes, attachments);
    return this.record('start', 'success', changes, lines, [], undefined);
  }

  /** Watch the config file; reload when its content changes. */
  watch(): void {
    if (this.watcher) return;
    const name = basename(this.file);
    this.watcher = watch(dirname(this.file), (_event, filename) => {
      if (filename !== null && filename !== name) return;
      if (this.timer) clearTimeout(this.timer);
      this.timer = setTimeout(() => this.onFileEvent(), this.debounceMs);
      this.timer.unref();
    });
    this.watcher.on('error', (err) =>
      this.log.error({ err: errorMessage(err), file: this.file }, 'config file watch failed'),
    );
  }

  stop(): void {
    this.watcher?.close();
    this.watcher = null;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private onFileEvent(): void {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch {
      return; // Mid-replace: the next event (or SIGHUP) reloads.
    }
    if (text === this.lastText) return;
    this.reload('file-change');
  }

  /** Load, validate and apply the config file now. */
  reload(trigger: ReloadTrigger): ReloadResult {
    let loaded;
    try {
      loaded = loadConfig(this.file);
    } catch (err) {
      return this.reject(trigger, errorMessage(err));
    }
    this.lastText = loaded.text;
    const compiled = compilePolicies(loaded.config.policies);
    if (!compiled.ok) return this.reject(trigger, 'policies did not compile');
    const next = policyState(loaded.config.policies, loaded.config.listeners);
    const restartRequired = restartsNeeded(this.config, loaded.config);
    for (const l of this.gateway.listeners) {
      const wanted = loaded.config.listeners.find((x) => x.name === l.name);
      if (wanted === undefined) continue; // Still running until restart: keep its policy.
      const policy = wanted.policy === undefined ? undefined : compiled.policies.get(wanted.policy);
      if (policy === undefined) l.runtime.setPolicy(AUDIT_ONLY, null);
      else l.runtime.setPolicy(policy, policy.version);
    }
    const changes = policyChanges(this.state, next);
    const lines = describeChanges(changes, attachmentChanges(this.state, next));
    this.state = next;
    this.config = loaded.config;
    const sequence = this.record(trigger, 'success', changes, lines, restartRequired, undefined);
    this.log.info(
      { trigger, file: this.file, changes: lines },
      lines.length > 0 ? 'policies reloaded' : 'policies reloaded: no change',
    );
    for (const what of restartRequired)
      this.log.warn({ file: this.file }, `restart needed to apply: ${what}`);
    return { ok: true, changes, restartRequired, sequence };
  }

  private reject(trigger: ReloadTrigger, error: string): ReloadResult {
    const rejected = this.rejectedChanges();
    if (rejected.text !== null) this.lastText = rejected.text;
    const sequence = this.record(trigger, 'failure', rejected.changes, [], [], error);
    this.log.error(
      { trigger, file: this.file, err: error },
      'POLICY RELOAD REJECTED: the previous policies stay in force',
    );
    return { ok: false, changes: [], restartRequired: [], error, sequence };
  }

  /** What the rejected file would have changed, as far as its YAML can be read. */
  private rejectedChanges(): { text: string | null; changes: PolicyChange[] } {
    try {
      const text = readFileSync(this.file, 'utf8');
      const raw: unknown = parse(text);
      const doc = isRecord(raw) ? raw : {};
      const policies = isRecord(doc.policies) ? doc.policies : {};
      return { text, changes: policyChanges(this.state, policyState(policies, [])) };
    } catch {
      return { text: null, changes: [] };
    }
  }

  private record(
    trigger: ReloadTrigger,
    outcome: 'success' | 'failure',
    changes: readonly PolicyChange[],
    lines: readonly string[],
    restartRequired: readonly string[],
    error: string | undefined,
  ): number {
    const policy: JsonObject = stateJson(this.state);
    if (outcome === 'success') policy.changes = changesJson(changes);
    else policy.rejected_changes = changesJson(changes);
    if (restartRequired.length > 0) policy.restart_required = [...restartRequired];
    const message =
      outcome === 'failure'
        ? `policy reload rejected (${trigger}); previous policies kept`
        : lines.length > 0
          ? `policies ${trigger === 'start' ? 'in force at start' : 'reloaded'}: ${lines.join('; ')}`
          : `policies reloaded (${trigger}): no change`;
    const ref = this.gateway.recorder.append({
      event: {
        action: 'policy-reload',
        category: ['configuration'],
        type: ['change'],
        outcome,
        reason: trigger,
      },
      message,
      file: { path: this.file },
      policy,
      ...(error === undefined ? {} : { error: { message: error } }),
    });
    return ref.sequence;
  }

  private lastRecordedState(): PolicyState | null {
    const page = this.gateway.store.search({
      actions: ['policy-reload'],
      order: 'newest',
      limit: 1,
    });
    const body = page.rows[0]?.body;
    if (body === null || body === undefined) return null;
    try {
      const record = JSON.parse(body) as Record<string, JsonValue>;
      return stateFromJson(record.policy);
    } catch {
      return null;
    }
  }
}

/** Reload on SIGHUP; returns a function that removes the handler. */
export function reloadOnSighup(reloader: PolicyReloader): () => void {
  const onHup = (): void => {
    reloader.reload('sighup');
  };
  process.on('SIGHUP', onHup);
  return () => process.off('SIGHUP', onHup);
}

/** Settings that changed but only apply at the next start. */
function restartsNeeded(running: Config, next: Config): string[] {
  const out: string[] = [];
  const before = new Map(running.listeners.map((l) => [l.name, l]));
  const after = new Map(next.listeners.map((l) => [l.name, l]));
  for (const [name, l] of after) {
    const old = before.get(name);
    if (old === undefined) {
      out.push(`listener ${name} added`);
      continue;
    }
    const changed = changedKeys(withoutPolicy(old), withoutPolicy(l));
    if (changed.length > 0) out.push(`listener ${name}: ${changed.join(', ')} changed`);
  }
  for (const name of before.keys())
    if (!after.has(name)) out.push(`listener ${name} removed (it keeps running)`);
  const rest = (c: Config): JsonObject => {
    const { listeners: _l, policies: _p, ...others } = c;
    return asObject(policyJson(others));
  };
  const other = changedKeys(rest(running), rest(next));
  if (other.length > 0) out.push(`settings ${other.join(', ')} changed`);
  return out;
}

function withoutPolicy(l: ListenerConfig): JsonObject {
  const { policy: _p, ...others } = l;
  return asObject(policyJson(others));
}

function changedKeys(a: JsonObject, b: JsonObject): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter((k) => canonicalOrNull(a[k]) !== canonicalOrNull(b[k])).sort();
}

function canonicalOrNull(v: JsonValue | undefined): string | null {
  return v === undefined ? null : canonicalJson(v);
}

function asObject(v: JsonValue): JsonObject {
  return isRecord(v) ? (v as JsonObject) : {};
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}
