/**
 * new-statement-class: a user running a class of statement (SQL read/write/ddl/dcl/tcl, or a
 * Redis command's strongest ACL category) never seen for that user after the learning period.
 */
import { BoundedMap } from './bounded.js';
import type { Detector, Firing, Observation, Phase } from './observation.js';
import type { Severity } from './schema.js';

/** Redis ACL categories that say most about a command, strongest first. */
const REDIS_CLASS_ORDER = ['admin', 'dangerous', 'write', 'read'] as const;

export class StatementClassDetector implements Detector {
  readonly name = 'new-statement-class';
  private readonly seen: BoundedMap<string, true>;
  private readonly severity: Severity;

  constructor(opts: { maxKeys: number; severity: Severity }) {
    this.seen = new BoundedMap(opts.maxKeys);
    this.severity = opts.severity;
  }

  observe(o: Observation, phase: Phase): Firing | null {
    const { row } = o;
    if (row.user === null || (row.action !== 'db-query' && row.action !== 'redis-command'))
      return null;
    const statementClass = row.action === 'db-query' ? sqlClass(o) : redisClass(o);
    if (statementClass === null) return null;
    const key = `${row.user}|${statementClass}`;
    if (this.seen.get(key) !== undefined) return null;
    this.seen.set(key, true);
    if (phase !== 'live') return null;
    return {
      detector: this.name,
      key,
      severity: this.severity,
      reason: `${row.user} ran a ${statementClass} statement for the first time${row.listener === null ? '' : ` (on ${row.listener})`}`,
      related: [row.id],
      sourceIp: row.sourceIp,
      listener: row.listener,
      user: row.user,
      facts: { class: statementClass },
    };
  }
}

function sqlClass(o: Observation): string | null {
  const c = o.stringField('db.query.class') ?? o.stringField('db.operation');
  return c === null ? null : `sql:${c}`;
}

function redisClass(o: Observation): string | null {
  const categories = o.field('redis.acl_categories');
  if (!Array.isArray(categories)) return null;
  const names = categories.filter((c): c is string => typeof c === 'string');
  const strongest = REDIS_CLASS_ORDER.find((c) => names.includes(c)) ?? names[0];
  return strongest === undefined ? null : `redis:${strongest}`;
}
