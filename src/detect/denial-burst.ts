/**
 * denial-burst: `threshold` denials (an access refused by policy or a limit) or failed
 * logins from one source IP within `window`. Keeps at most `threshold` timestamps a source.
 */
import { BoundedMap } from './bounded.js';
import {
  ACCESS_ACTIONS,
  type Detector,
  type Firing,
  type Observation,
  type Phase,
} from './observation.js';
import type { Severity } from './schema.js';

interface Hit {
  readonly ms: number;
  readonly id: string;
}

export class DenialBurstDetector implements Detector {
  readonly name = 'denial-burst';
  private readonly sources: BoundedMap<string, Hit[]>;
  private readonly threshold: number;
  private readonly windowMs: number;
  private readonly severity: Severity;
  private readonly traps: ReadonlySet<string>;

  constructor(opts: {
    maxKeys: number;
    threshold: number;
    windowMs: number;
    severity: Severity;
    traps: ReadonlySet<string>;
  }) {
    this.sources = new BoundedMap(opts.maxKeys);
    this.threshold = opts.threshold;
    this.windowMs = opts.windowMs;
    this.severity = opts.severity;
    this.traps = opts.traps;
  }

  observe(o: Observation, phase: Phase): Firing | null {
    const { row } = o;
    if (row.sourceIp === null || row.outcome !== 'failure') return null;
    const failedLogin = row.action === 'db-login';
    if (!failedLogin && !ACCESS_ACTIONS.has(row.action)) return null;
    if (row.listener !== null && this.traps.has(row.listener)) return null; // port-scan's business
    const hits = this.sources.upsert(row.sourceIp, () => []);
    while (hits.length > 0 && (hits[0]?.ms ?? 0) <= o.timeMs - this.windowMs) hits.shift();
    hits.push({ ms: o.timeMs, id: row.id });
    if (hits.length > this.threshold) hits.shift();
    if (hits.length < this.threshold || phase === 'replay') return null;
    const related = hits.map((h) => h.id);
    hits.length = 0; // the next burst starts counting afresh
    return {
      detector: this.name,
      key: row.sourceIp,
      severity: this.severity,
      reason: `${this.threshold} denied attempts or failed logins from ${row.sourceIp} within ${Math.round(this.windowMs / 1000)} s`,
      related,
      sourceIp: row.sourceIp,
      listener: row.listener,
      user: row.user,
      facts: { count: this.threshold, window_ms: this.windowMs },
    };
  }
}
