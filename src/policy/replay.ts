/**
 * `policy test --replay`: recorded decisions decided again by a candidate policy, counting
 * what it would have decided differently, with a few examples of each. Streaming: records
 * go in one at a time, so a week of traffic never sits in memory.
 */
import type { JsonObject } from '../audit/event.js';
import type { PolicyDecider } from './action.js';
import { recordedDecision, type RecordedDecision } from './replay-facts.js';

/** One decision the candidate would make differently. */
export interface ReplayDifference {
  readonly sequence: number;
  readonly time: string;
  readonly listener: string;
  readonly action: RecordedDecision['action'];
  readonly subject: string;
  readonly was: 'allow' | 'deny';
  readonly now: 'allow' | 'deny';
  /** The rule that decided when the record was made. */
  readonly recordedRule?: string;
  /** The candidate's rule (absent when its default applied). */
  readonly rule?: string;
  readonly reason: string;
}

/** How many differences one candidate rule (or default) makes on one listener. */
export interface ReplayCount {
  readonly listener: string;
  readonly rule: string;
  readonly now: 'allow' | 'deny';
  readonly count: number;
}

export interface ReplayReport {
  /** Records decided again. */
  readonly replayed: number;
  /** Records on listeners the candidate does not cover. */
  readonly skipped: number;
  readonly unchanged: number;
  readonly newlyDenied: number;
  readonly newlyAllowed: number;
  readonly counts: readonly ReplayCount[];
  /** The first few differences in each direction, oldest first. */
  readonly examples: readonly ReplayDifference[];
}

/** Which decider a listener gets under the candidate; undefined: not covered. */
export type CandidateFor = (listener: string) => PolicyDecider | undefined;

export class PolicyReplay {
  private readonly candidateFor: CandidateFor;
  private readonly maxExamples: number;
  private replayed = 0;
  private skipped = 0;
  private unchanged = 0;
  private newlyDenied = 0;
  private newlyAllowed = 0;
  private readonly counts = new Map<string, ReplayCount>();
  private readonly denyExamples: ReplayDifference[] = [];
  private readonly allowExamples: ReplayDifference[] = [];

  constructor(candidateFor: CandidateFor, maxExamples = 5) {
    this.candidateFor = candidateFor;
    this.maxExamples = maxExamples;
  }

  /** Decide one record again; records without a decision are ignored. */
  add(record: JsonObject): void {
    const recorded = recordedDecision(record);
    if (recorded === null) return;
    const candidate = this.candidateFor(recorded.listener);
    if (candidate === undefined) {
      this.skipped++;
      return;
    }
    this.replayed++;
    const decision =
      recorded.request === undefined
        ? candidate.decideConnection(recorded.conn, recorded.at)
        : candidate.decideAction(recorded.conn, recorded.request, recorded.at);
    const now = decision.verdict === 'deny' ? 'deny' : 'allow';
    if (now === recorded.was) {
      this.unchanged++;
      return;
    }
    if (now === 'deny') this.newlyDenied++;
    else this.newlyAllowed++;
    const rule = decision.ruleId ?? '(default)';
    const key = `${recorded.listener}\u0000${rule}\u0000${now}`;
    const prev = this.counts.get(key);
    this.counts.set(key, {
      listener: recorded.listener,
      rule,
      now,
      count: (prev?.count ?? 0) + 1,
    });
    const examples = now === 'deny' ? this.denyExamples : this.allowExamples;
    if (examples.length < this.maxExamples) {
      examples.push({
        sequence: recorded.sequence,
        time: recorded.time,
        listener: recorded.listener,
        action: recorded.action,
        subject: recorded.subject,
        was: recorded.was,
        now,
        ...(recorded.ruleId === undefined ? {} : { recordedRule: recorded.ruleId }),
        ...(decision.ruleId === undefined ? {} : { rule: decision.ruleId }),
        reason: decision.reason,
      });
    }
  }

  report(): ReplayReport {
    return {
      replayed: this.replayed,
      skipped: this.skipped,
      unchanged: this.unchanged,
      newlyDenied: this.newlyDenied,
      newlyAllowed: this.newlyAllowed,
      counts: [...this.counts.values()].sort((a, b) => b.count - a.count),
      examples: [...this.denyExamples, ...this.allowExamples],
    };
  }
}
