/**
 * A compiled policy as a PolicyDecider. Evaluation is pure, synchronous and allocation-free
 * on the normal path: every Decision it can return is built once at compile time.
 */
import type { ActionFacts, ConnectionFacts, Decision, PolicyDecider } from './action.js';
import { Tri, type Condition } from './conditions.js';
import type { Cidr } from './ip.js';
import type { RuleKind } from './schema.js';

/** One rule, compiled. */
export interface CompiledRule {
  readonly id: string;
  readonly kind: RuleKind;
  readonly description?: string;
  readonly conditions: readonly Condition[];
  /** True when no condition needs a request (sql, redis, http). */
  readonly connectionLevel: boolean;
  /** The CIDRs of a `sources` condition, if the rule has one. */
  readonly sources?: readonly Cidr[];
  /** What this rule answers when it matches. */
  readonly decision: Decision;
  /** What a connection gets when this allow/alert rule can only be decided per request. */
  readonly pendingDecision: Decision;
}

/** A policy compiled once from config; decides connections and actions. */
export class CompiledPolicy implements PolicyDecider {
  readonly name: string;
  /** `sha256:<hex>` of the canonical JSON of the policy as written. */
  readonly version: string;
  readonly defaultVerdict: 'allow' | 'deny';
  readonly rules: readonly CompiledRule[];
  /** True when a rule has a `process` condition: the gateway must look the client up. */
  readonly needsProcess: boolean;
  private readonly defaultDecision: Decision;
  private readonly errorDecision: Decision;

  constructor(
    name: string,
    version: string,
    defaultVerdict: 'allow' | 'deny',
    rules: readonly CompiledRule[],
  ) {
    this.name = name;
    this.version = version;
    this.defaultVerdict = defaultVerdict;
    this.rules = rules;
    this.needsProcess = rules.some((r) => r.conditions.some((c) => c.key === 'process'));
    this.defaultDecision = Object.freeze({
      verdict: defaultVerdict,
      policyVersion: version,
      reason: defaultVerdict === 'deny' ? 'no rule allows' : 'policy default allows',
    });
    this.errorDecision = Object.freeze({
      verdict: 'deny',
      policyVersion: version,
      reason: 'evaluation error',
    });
  }

  /**
   * At accept: first rule that matches on connection facts wins, but a rule that needs
   * facts not known yet (a request, or a user not revealed yet) does not decide. A
   * connection is refused only when no allow or alert rule could still match.
   */
  decideConnection(conn: ConnectionFacts, at: Date): Decision {
    try {
      const atMs = at.getTime();
      for (const rule of this.rules) {
        const result = evaluateRule(rule, conn, undefined, atMs);
        if (result === Tri.no) continue;
        if (result === Tri.match) return rule.decision;
        // Undecided allow/alert: it may still allow, so the connection must go on.
        if (rule.kind !== 'deny') return rule.pendingDecision;
        // Undecided deny: it may or may not apply per request; later rules still count.
      }
      return this.defaultDecision;
    } catch {
      return this.errorDecision;
    }
  }

  /** Per action: every rule in order, first match wins, the default otherwise. */
  decideAction(conn: ConnectionFacts, action: ActionFacts, at: Date): Decision {
    try {
      const atMs = at.getTime();
      for (const rule of this.rules) {
        if (evaluateRule(rule, conn, action, atMs) === Tri.match) return rule.decision;
      }
      return this.defaultDecision;
    } catch {
      return this.errorDecision;
    }
  }
}

/** AND of the rule's conditions in three values; request conditions are unknown at accept. */
function evaluateRule(
  rule: CompiledRule,
  conn: ConnectionFacts,
  action: ActionFacts | undefined,
  atMs: number,
): Tri {
  if (!Number.isFinite(atMs)) throw new RangeError('invalid decision time');
  const failClosed = rule.kind === 'deny';
  let result: Tri = Tri.match;
  for (const condition of rule.conditions) {
    const answer =
      action === undefined && condition.level === 'request'
        ? Tri.unknown
        : condition.test(conn, action, failClosed, atMs);
    if (answer === Tri.no) return Tri.no;
    if (answer === Tri.unknown) result = Tri.unknown;
  }
  return result;
}
