/**
 * The policy state of a running gateway as policy-reload records keep it: every policy as
 * written (so any version can be shown again), its version, and which listener uses which
 * policy. Comparing two states gives the changes a reload record and `policy history` show.
 * Pure data; the gateway's reload watcher does the I/O.
 */
import type { JsonObject, JsonValue } from '../audit/event.js';
import { policyJson, policyVersion } from './compile.js';
import { diffPolicy, type PolicyDiff } from './diff.js';

/** What the policies of one config are. */
export interface PolicyState {
  /** Policy name → `sha256:<hex>` version. */
  readonly versions: Readonly<Record<string, string>>;
  /** Policy name → the policy as written, as plain JSON (hashes to its version). */
  readonly definitions: Readonly<Record<string, JsonValue>>;
  /** Listener name → policy name, null for an audit-only listener. */
  readonly listeners: Readonly<Record<string, string | null>>;
}

/** One policy that differs between two states. */
export interface PolicyChange {
  readonly name: string;
  /** Null when the policy is new. */
  readonly previousVersion: string | null;
  /** Null when the policy was removed. */
  readonly version: string | null;
  /** Rule-level changes (absent for added or removed policies). */
  readonly diff?: PolicyDiff;
}

/** A listener whose policy attachment changed. */
export interface AttachmentChange {
  readonly listener: string;
  readonly from: string | null;
  readonly to: string | null;
}

/** The state of a config's `policies:` map and listeners. */
export function policyState(
  rawPolicies: Readonly<Record<string, unknown>>,
  listeners: readonly { readonly name: string; readonly policy?: string | undefined }[],
): PolicyState {
  const versions: Record<string, string> = {};
  const definitions: Record<string, JsonValue> = {};
  for (const [name, raw] of Object.entries(rawPolicies)) {
    versions[name] = policyVersion(raw);
    definitions[name] = policyJson(raw);
  }
  const attached: Record<string, string | null> = {};
  for (const l of listeners) attached[l.name] = l.policy ?? null;
  return { versions, definitions, listeners: attached };
}

/** Policies added, removed or changed from `before` (null: nothing known) to `after`. */
export function policyChanges(before: PolicyState | null, after: PolicyState): PolicyChange[] {
  const old = before ?? { versions: {}, definitions: {}, listeners: {} };
  const out: PolicyChange[] = [];
  for (const [name, version] of Object.entries(after.versions)) {
    const previous = old.versions[name];
    if (previous === version) continue;
    if (previous === undefined) {
      out.push({ name, previousVersion: null, version });
      continue;
    }
    out.push({
      name,
      previousVersion: previous,
      version,
      diff: diffPolicy(old.definitions[name], after.definitions[name]),
    });
  }
  for (const [name, previous] of Object.entries(old.versions)) {
    if (!(name in after.versions)) out.push({ name, previousVersion: previous, version: null });
  }
  return out;
}

/** Listeners present in both states whose policy name changed. */
export function attachmentChanges(
  before: PolicyState | null,
  after: PolicyState,
): AttachmentChange[] {
  if (before === null) return [];
  const out: AttachmentChange[] = [];
  for (const [listener, to] of Object.entries(after.listeners)) {
    if (!(listener in before.listeners)) continue;
    const from = before.listeners[listener] ?? null;
    if (from !== to) out.push({ listener, from, to });
  }
  return out;
}

/** One line per change, e.g. `databases sha256:1a2b…→sha256:3c4d… +rule dba-hours`. */
export function describeChanges(
  changes: readonly PolicyChange[],
  attachments: readonly AttachmentChange[] = [],
): string[] {
  const lines = changes.map((c) => {
    if (c.previousVersion === null) return `${c.name}: added (${short(c.version)})`;
    if (c.version === null) return `${c.name}: removed (was ${short(c.previousVersion)})`;
    const parts = c.diff === undefined ? [] : describeDiff(c.diff);
    const what = parts.length > 0 ? parts.join(', ') : 'formatting or descriptions only';
    return `${c.name}: ${short(c.previousVersion)}→${short(c.version)} ${what}`;
  });
  for (const a of attachments) {
    lines.push(`listener ${a.listener}: policy ${a.from ?? '(none)'}→${a.to ?? '(none)'}`);
  }
  return lines;
}

function describeDiff(d: PolicyDiff): string[] {
  const parts: string[] = [];
  for (const id of d.addedRules) parts.push(`+rule ${id}`);
  for (const id of d.removedRules) parts.push(`-rule ${id}`);
  for (const id of d.changedRules) parts.push(`~rule ${id}`);
  if (d.reordered) parts.push('rules reordered');
  if (d.defaultChanged) parts.push(`default ${d.defaultChanged.from}→${d.defaultChanged.to}`);
  return parts;
}

/** `sha256:` and the first 12 hex digits. */
export function short(version: string | null): string {
  return version === null ? '(none)' : version.slice(0, 19);
}

/** The changes as record fields (snake_case, like every record field). */
export function changesJson(changes: readonly PolicyChange[]): JsonObject[] {
  return changes.map((c) => {
    const out: JsonObject = {
      name: c.name,
      previous_version: c.previousVersion,
      version: c.version,
    };
    const d = c.diff;
    if (d !== undefined) {
      out.added_rules = [...d.addedRules];
      out.removed_rules = [...d.removedRules];
      out.changed_rules = [...d.changedRules];
      out.reordered = d.reordered;
      if (d.defaultChanged)
        out.default_changed = { from: d.defaultChanged.from, to: d.defaultChanged.to };
    }
    return out;
  });
}

/** The state as record fields. */
export function stateJson(state: PolicyState): JsonObject {
  return {
    versions: { ...state.versions },
    definitions: { ...state.definitions },
    listeners: { ...state.listeners },
  };
}

/** Read a state back from a record's `policy` object; null when it has none. */
export function stateFromJson(policy: unknown): PolicyState | null {
  if (!isObject(policy)) return null;
  const { versions, definitions, listeners } = policy;
  if (!isObject(versions) || !isObject(definitions) || !isObject(listeners)) return null;
  const v: Record<string, string> = {};
  for (const [k, x] of Object.entries(versions)) if (typeof x === 'string') v[k] = x;
  const l: Record<string, string | null> = {};
  for (const [k, x] of Object.entries(listeners)) l[k] = typeof x === 'string' ? x : null;
  return { versions: v, definitions: definitions as Record<string, JsonValue>, listeners: l };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
