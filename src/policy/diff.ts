/**
 * What changed between two versions of the `policies:` map, by rule id: for policy-reload
 * records and `policy history`. Works on raw config values (tolerates malformed input,
 * which simply has no rules), so a rejected reload can be described too.
 */
import { canonicalJson } from '../audit/canonical.js';

/** Changes inside one policy. */
export interface PolicyDiff {
  readonly addedRules: readonly string[];
  readonly removedRules: readonly string[];
  /** Rules whose content differs (same id). */
  readonly changedRules: readonly string[];
  /** True when rules present in both appear in a different order (first match changes). */
  readonly reordered: boolean;
  readonly defaultChanged?: { readonly from: 'allow' | 'deny'; readonly to: 'allow' | 'deny' };
}

/** Changes across the whole map. */
export interface PoliciesDiff {
  readonly addedPolicies: readonly string[];
  readonly removedPolicies: readonly string[];
  /** Policies in both maps that differ, with what differs. */
  readonly changedPolicies: Readonly<Record<string, PolicyDiff>>;
}

/** Compare two raw `policies:` maps. */
export function diffPolicies(oldRaw: unknown, newRaw: unknown): PoliciesDiff {
  const before = asRecord(oldRaw);
  const after = asRecord(newRaw);
  const changedPolicies: Record<string, PolicyDiff> = {};
  for (const name of Object.keys(after)) {
    if (!(name in before)) continue;
    const diff = diffPolicy(before[name], after[name]);
    if (!isEmptyDiff(diff)) changedPolicies[name] = diff;
  }
  return {
    addedPolicies: Object.keys(after).filter((n) => !(n in before)),
    removedPolicies: Object.keys(before).filter((n) => !(n in after)),
    changedPolicies,
  };
}

/** Compare two raw policies (each `{ default?, rules? }`). */
export function diffPolicy(oldRaw: unknown, newRaw: unknown): PolicyDiff {
  const before = rulesById(oldRaw);
  const after = rulesById(newRaw);
  const changedRules: string[] = [];
  for (const [id, text] of after) {
    const old = before.get(id);
    if (old !== undefined && old !== text) changedRules.push(id);
  }
  const common = (ids: Iterable<string>, other: Map<string, string>): string[] =>
    [...ids].filter((id) => other.has(id));
  const oldOrder = common(before.keys(), after);
  const newOrder = common(after.keys(), before);
  const fromDefault = defaultOf(oldRaw);
  const toDefault = defaultOf(newRaw);
  return {
    addedRules: [...after.keys()].filter((id) => !before.has(id)),
    removedRules: [...before.keys()].filter((id) => !after.has(id)),
    changedRules,
    reordered: oldOrder.some((id, i) => newOrder[i] !== id),
    ...(fromDefault === toDefault ? {} : { defaultChanged: { from: fromDefault, to: toDefault } }),
  };
}

function isEmptyDiff(d: PolicyDiff): boolean {
  return (
    d.addedRules.length === 0 &&
    d.removedRules.length === 0 &&
    d.changedRules.length === 0 &&
    !d.reordered &&
    d.defaultChanged === undefined
  );
}

function asRecord(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {};
}

function defaultOf(policy: unknown): 'allow' | 'deny' {
  return asRecord(policy).default === 'allow' ? 'allow' : 'deny';
}

/** Rule id → canonical JSON of the rule, in order; rules without a string id are skipped. */
function rulesById(policy: unknown): Map<string, string> {
  const out = new Map<string, string>();
  const rules = asRecord(policy).rules;
  if (!Array.isArray(rules)) return out;
  for (const rule of rules as unknown[]) {
    const id = asRecord(rule).id;
    if (typeof id === 'string' && !out.has(id)) out.set(id, canonicalOrString(rule));
  }
  return out;
}

function canonicalOrString(value: unknown): string {
  try {
    return canonicalJson(value);
  } catch {
    return String(value);
  }
}
