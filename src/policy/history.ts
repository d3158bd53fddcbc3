/**
 * `policy history`: the policy-reload records read back as versions with their time, what
 * triggered them and what changed. Records are untrusted JSON here (they may come from an
 * older version of portwarden), so every field is checked as it is read.
 */
import type { JsonObject, JsonValue } from '../audit/event.js';
import type { PolicyDiff } from './diff.js';
import { stateFromJson, type PolicyChange, type PolicyState } from './state.js';

/** One policy-reload record. */
export interface HistoryEntry {
  readonly sequence: number;
  /** `@timestamp` of the record (RFC 3339, nanoseconds). */
  readonly time: string;
  readonly outcome: 'success' | 'failure';
  /** What started it: start, sighup, file-change, manual. */
  readonly trigger: string;
  readonly message: string;
  readonly changes: readonly PolicyChange[];
  /** Config changes that need a restart to apply (listener address, target…). */
  readonly restartRequired: readonly string[];
  /** Why a reload was rejected. */
  readonly error?: string;
  /** The policies in force after this record (the kept ones when rejected). */
  readonly state: PolicyState | null;
}

/** A history entry from one record; null when it is not a policy-reload record. */
export function historyEntry(record: JsonObject): HistoryEntry | null {
  const event = obj(record.event);
  if (event.action !== 'policy-reload') return null;
  const policy = obj(record.policy);
  const error = obj(record.error).message;
  return {
    sequence: typeof event.sequence === 'number' ? event.sequence : -1,
    time: str(record['@timestamp']),
    outcome: event.outcome === 'success' ? 'success' : 'failure',
    trigger: str(event.reason),
    message: str(record.message),
    changes: arr(policy.changes).map(changeFromJson),
    restartRequired: arr(policy.restart_required).filter((x) => typeof x === 'string'),
    ...(typeof error === 'string' ? { error } : {}),
    state: stateFromJson(record.policy),
  };
}

/** The policy text recorded for a version (`sha256:…`, or a unique prefix of it). */
export function findDefinition(
  entries: readonly HistoryEntry[],
  version: string,
): { readonly name: string; readonly version: string; readonly definition: JsonValue } | null {
  for (let i = entries.length - 1; i >= 0; i--) {
    const state = entries[i]?.state;
    if (!state) continue;
    for (const [name, v] of Object.entries(state.versions)) {
      const definition = state.definitions[name];
      if (definition !== undefined && v.startsWith(version))
        return { name, version: v, definition };
    }
  }
  return null;
}

function changeFromJson(value: JsonValue): PolicyChange {
  const c = obj(value);
  const previousVersion = typeof c.previous_version === 'string' ? c.previous_version : null;
  const version = typeof c.version === 'string' ? c.version : null;
  const base = { name: str(c.name), previousVersion, version };
  if (!Array.isArray(c.added_rules)) return base;
  const dc = obj(c.default_changed);
  const diff: PolicyDiff = {
    addedRules: strings(c.added_rules),
    removedRules: strings(c.removed_rules),
    changedRules: strings(c.changed_rules),
    reordered: c.reordered === true,
    ...(verdict(dc.from) && verdict(dc.to) ? { defaultChanged: { from: dc.from, to: dc.to } } : {}),
  };
  return { ...base, diff };
}

function verdict(v: unknown): v is 'allow' | 'deny' {
  return v === 'allow' || v === 'deny';
}

function obj(value: unknown): Record<string, JsonValue> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, JsonValue>)
    : {};
}

function arr(value: unknown): JsonValue[] {
  return Array.isArray(value) ? (value as JsonValue[]) : [];
}

function strings(value: unknown): string[] {
  return arr(value).filter((x): x is string => typeof x === 'string');
}

function str(value: unknown): string {
  return typeof value === 'string' ? value : '';
}
