/** The policy engine: rule model, compiled matchers, decisions, diffs and firewall export. */
export { compilePolicies, policyJson, policyVersion, type CompileResult } from './compile.js';
export { CompiledPolicy, type CompiledRule } from './evaluate.js';
export {
  policiesSchema,
  type PolicyIssue,
  type RawConditions,
  type RawPolicy,
  type RawRule,
  type RuleKind,
} from './schema.js';
export type { Cidr } from './ip.js';
export {
  AUDIT_ONLY,
  type ActionFacts,
  type ConnectionFacts,
  type Decision,
  type PolicyDecider,
  type SqlClass,
} from './action.js';
export { diffPolicies, diffPolicy, type PoliciesDiff, type PolicyDiff } from './diff.js';
export {
  allowedSources,
  exportK8s,
  exportNftables,
  networkPolicies,
  type AllowedSources,
  type ExportListener,
  type K8sOptions,
  type NetworkPolicy,
  type NftablesOptions,
} from './export/index.js';
export {
  attachmentChanges,
  changesJson,
  describeChanges,
  policyChanges,
  policyState,
  short as shortVersion,
  stateFromJson,
  stateJson,
  type AttachmentChange,
  type PolicyChange,
  type PolicyState,
} from './state.js';
export { findDefinition, historyEntry, type HistoryEntry } from './history.js';
export { REPLAYABLE_ACTIONS, recordedDecision, type RecordedDecision } from './replay-facts.js';
export {
  PolicyReplay,
  type CandidateFor,
  type ReplayCount,
  type ReplayDifference,
  type ReplayReport,
} from './replay.js';
