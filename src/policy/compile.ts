/**
 * `policies:` map → compiled policies, or every problem with its path. Compiling happens
 * once per config load; the result decides without further parsing.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../audit/canonical.js';
import type { JsonValue } from '../audit/event.js';
import type { Decision } from './action.js';
import { compileConditions } from './conditions.js';
import { CompiledPolicy, type CompiledRule } from './evaluate.js';
import {
  duplicateRuleIds,
  policiesSchema,
  toPolicyIssues,
  type PolicyIssue,
  type RawPolicy,
  type RawRule,
  type RuleKind,
} from './schema.js';
import type { ZoneClock } from './time-window.js';

/** The result of compiling a `policies:` map. */
export type CompileResult =
  | { readonly ok: true; readonly policies: ReadonlyMap<string, CompiledPolicy> }
  | { readonly ok: false; readonly issues: PolicyIssue[] };

/** Validate and compile the `policies:` map; an absent map means no policies. */
export function compilePolicies(raw: unknown): CompileResult {
  if (raw === undefined || raw === null) return { ok: true, policies: new Map() };
  const parsed = policiesSchema.safeParse(raw, { reportInput: true });
  const duplicates = duplicateRuleIds(raw);
  if (!parsed.success || duplicates.length > 0) {
    const issues = parsed.success ? [] : toPolicyIssues(parsed.error.issues);
    return { ok: false, issues: sortIssues([...issues, ...duplicates]) };
  }
  const rawMap = raw as Record<string, unknown>;
  // One clock per zone across all policies: the offset cache is shared.
  const clocks = new Map<string, ZoneClock>();
  const policies = new Map<string, CompiledPolicy>();
  for (const [name, policy] of Object.entries(parsed.data)) {
    policies.set(name, compilePolicy(name, policy, policyVersion(rawMap[name]), clocks));
  }
  return { ok: true, policies };
}

/** Issues ordered by list positions along the path (rule order); stable otherwise. */
function sortIssues(issues: PolicyIssue[]): PolicyIssue[] {
  return issues.sort((a, b) => {
    for (let i = 0; i < Math.min(a.path.length, b.path.length); i++) {
      const x = a.path[i];
      const y = b.path[i];
      if (x === y) continue;
      if (typeof x === 'number' && typeof y === 'number') return x - y;
      return 0;
    }
    return 0;
  });
}

/** `sha256:<hex>` of the RFC 8785 canonical JSON of one policy as written in the config. */
export function policyVersion(rawPolicy: unknown): string {
  const canonical = canonicalJson(policyJson(rawPolicy));
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/**
 * A policy as written, as plain JSON: what its version hashes and what a policy-reload
 * record keeps. YAML 1.1 timestamps arrive as Dates; they become the ISO text they stand for.
 */
export function policyJson(value: unknown): JsonValue {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(policyJson);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, JsonValue> = {};
    for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = policyJson(v);
    return out;
  }
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return value;
  if (typeof value === 'number') return value;
  return null;
}

function compilePolicy(
  name: string,
  policy: RawPolicy,
  version: string,
  clocks: Map<string, ZoneClock>,
): CompiledPolicy {
  const rules = (policy.rules ?? []).map((rule) => compileRule(rule, version, clocks));
  return new CompiledPolicy(name, version, policy.default ?? 'deny', rules);
}

function compileRule(rule: RawRule, version: string, clocks: Map<string, ZoneClock>): CompiledRule {
  const [kind, raw] = ruleKind(rule);
  const { conditions, sources } = compileConditions(raw, clocks);
  const decision: Decision = Object.freeze({
    verdict: kind,
    ruleId: rule.id,
    policyVersion: version,
    reason: `rule ${rule.id}`,
  });
  const pendingDecision: Decision = Object.freeze({
    verdict: 'allow',
    policyVersion: version,
    reason: `rule ${rule.id} may allow; decided per request`,
  });
  return {
    id: rule.id,
    kind,
    ...(rule.description === undefined ? {} : { description: rule.description }),
    conditions,
    connectionLevel: conditions.every((c) => c.level === 'connection'),
    ...(sources === undefined ? {} : { sources }),
    decision,
    pendingDecision,
  };
}

function ruleKind(rule: RawRule): [RuleKind, NonNullable<RawRule['allow']>] {
  if (rule.allow !== undefined) return ['allow', rule.allow];
  if (rule.deny !== undefined) return ['deny', rule.deny];
  if (rule.alert !== undefined) return ['alert', rule.alert];
  throw new TypeError(`rule ${rule.id} has no kind`);
}
