/**
 * port-scan: one source IP opening `listeners` distinct listeners, or touching `traps`
 * distinct trap ports, within `window`. State per source is bounded by the configured
 * listeners and traps.
 */
import { BoundedMap } from './bounded.js';
import type { Detector, Firing, Observation, Phase } from './observation.js';
import type { Severity } from './schema.js';

interface Touch {
  ms: number;
  id: string;
}

export class PortScanDetector implements Detector {
  readonly name = 'port-scan';
  private readonly sources: BoundedMap<string, Map<string, Touch>>;
  private readonly listenerThreshold: number;
  private readonly trapThreshold: number;
  private readonly windowMs: number;
  private readonly severity: Severity;
  private readonly traps: ReadonlySet<string>;

  constructor(opts: {
    maxKeys: number;
    listeners: number;
    traps: number;
    windowMs: number;
    severity: Severity;
    trapNames: ReadonlySet<string>;
  }) {
    this.sources = new BoundedMap(opts.maxKeys);
    this.listenerThreshold = opts.listeners;
    this.trapThreshold = opts.traps;
    this.windowMs = opts.windowMs;
    this.severity = opts.severity;
    this.traps = opts.trapNames;
  }

  observe(o: Observation, phase: Phase): Firing | null {
    const { row } = o;
    if (row.action !== 'connection-open' || row.sourceIp === null || row.listener === null)
      return null;
    const touched = this.sources.upsert(row.sourceIp, () => new Map());
    for (const [name, touch] of touched)
      if (touch.ms <= o.timeMs - this.windowMs) touched.delete(name);
    touched.set(row.listener, { ms: o.timeMs, id: row.id });
    const trapsHit = [...touched.keys()].filter((name) => this.traps.has(name));
    const listenersHit = touched.size - trapsHit.length;
    const fires = trapsHit.length >= this.trapThreshold || listenersHit >= this.listenerThreshold;
    if (!fires || phase === 'replay') return null;
    const names = [...touched.keys()].sort();
    const related = [...touched.values()].map((t) => t.id);
    touched.clear();
    return {
      detector: this.name,
      key: row.sourceIp,
      severity: this.severity,
      reason:
        trapsHit.length >= this.trapThreshold
          ? `${row.sourceIp} touched trap port${trapsHit.length > 1 ? 's' : ''} ${trapsHit.sort().join(', ')} (${names.length} listener${names.length === 1 ? '' : 's'} within ${Math.round(this.windowMs / 1000)} s)`
          : `${row.sourceIp} opened ${listenersHit} listeners within ${Math.round(this.windowMs / 1000)} s: ${names.join(', ')}`,
      related,
      sourceIp: row.sourceIp,
      listener: row.listener,
      user: row.user,
      facts: { listeners: names, traps: trapsHit },
    };
  }
}
