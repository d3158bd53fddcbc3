/**
 * new-access: the first time a (source IP, listener, user) is seen after the learning
 * period. Keys come from logins, actions with a user, and connection closes (which carry
 * the user once the protocol revealed it; plain TCP has none and keys on `-`).
 */
import { BoundedMap } from './bounded.js';
import type { Detector, Firing, Observation, Phase } from './observation.js';
import type { Severity } from './schema.js';

const KEYED_ACTIONS: ReadonlySet<string> = new Set([
  'db-login',
  'redis-command',
  'http-request',
  'connection-close',
]);

export class NewAccessDetector implements Detector {
  readonly name = 'new-access';
  private readonly seen: BoundedMap<string, true>;
  private readonly severity: Severity;

  constructor(opts: { maxKeys: number; severity: Severity }) {
    this.seen = new BoundedMap(opts.maxKeys);
    this.severity = opts.severity;
  }

  observe(o: Observation, phase: Phase): Firing | null {
    const { row } = o;
    if (!KEYED_ACTIONS.has(row.action) || row.listener === null || row.sourceIp === null)
      return null;
    if (row.action === 'db-login' && row.outcome !== 'success') return null;
    // A connection's close without a user says nothing new when a login already keyed it.
    const user = row.user ?? '-';
    const key = `${row.sourceIp}|${row.listener}|${user}`;
    if (this.seen.get(key) !== undefined) return null;
    this.seen.set(key, true);
    if (phase !== 'live') return null;
    return {
      detector: this.name,
      key,
      severity: this.severity,
      reason: `first access to ${row.listener} from ${row.sourceIp}${row.user === null ? '' : ` as ${row.user}`} since the baseline was learned`,
      related: [row.id],
      sourceIp: row.sourceIp,
      listener: row.listener,
      user: row.user,
    };
  }
}
