/**
 * The detector engine: a stream over committed records. At start it rebuilds every
 * baseline from the store's recent window (`baseline_window`) without firing, so a restart
 * neither forgets what is usual nor repeats old alerts; then it watches each commit. A
 * firing becomes an `anomaly-<detector>` record through the gateway's Recorder; once that
 * record is committed it goes to the alert sinks. Alert and finding records are never fed
 * back to the detectors.
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../audit/event.js';
import { NO_CONTEXT, type RecordRef, type Recorder } from '../audit/recorder.js';
import { errorMessage } from '../errors.js';
import type { Sink } from '../sinks/index.js';
import type { EventRow, Store } from '../store/index.js';
import { BoundedMap } from './bounded.js';
import { DenialBurstDetector } from './denial-burst.js';
import { NewAccessDetector } from './new-access.js';
import { Observation, type Detector, type Firing, type Phase } from './observation.js';
import { OffHoursDetector } from './off-hours.js';
import { PortScanDetector } from './port-scan.js';
import { SEVERITIES, type DetectorsConfig, type Severity } from './schema.js';
import { StatementClassDetector } from './statement-class.js';
import { VolumeDetector } from './volume.js';

/** `event.severity` per level: the 21/47/73/99 risk scores of Elastic's detection rules. */
export const SEVERITY_SCORE: Readonly<Record<Severity, number>> = {
  low: 21,
  medium: 47,
  high: 73,
  critical: 99,
};

/** Rows read per step while rebuilding (the store's iterator is drained before yielding). */
const REBUILD_CHUNK = 5000;

export interface EngineOptions {
  readonly config: DetectorsConfig;
  /** Trap names (their connection-open records count as trap touches). */
  readonly traps?: readonly string[];
  readonly store: Store;
  readonly recorder: Recorder;
  /** Where committed alerts (and audit findings) go. */
  readonly sinks?: readonly Sink[];
  readonly minSeverity?: Severity;
  readonly log?: Logger;
  /** Wall clock in ms (tests); default Date.now. */
  readonly now?: () => number;
}

/** Build the enabled detectors from config. */
export function buildDetectors(config: DetectorsConfig, traps: readonly string[] = []): Detector[] {
  const maxKeys = config.max_keys;
  const trapNames = new Set(traps);
  const out: Detector[] = [];
  if (config.new_access.enabled)
    out.push(new NewAccessDetector({ maxKeys, severity: config.new_access.severity }));
  if (config.off_hours.enabled)
    out.push(
      new OffHoursDetector({
        maxKeys,
        minSamples: config.off_hours.min_samples,
        severity: config.off_hours.severity,
        timezone: config.timezone,
      }),
    );
  if (config.denial_burst.enabled)
    out.push(
      new DenialBurstDetector({
        maxKeys,
        threshold: config.denial_burst.threshold,
        windowMs: config.denial_burst.window,
        severity: config.denial_burst.severity,
        traps: trapNames,
      }),
    );
  if (config.port_scan.enabled)
    out.push(
      new PortScanDetector({
        maxKeys,
        listeners: config.port_scan.listeners,
        traps: config.port_scan.traps,
        windowMs: config.port_scan.window,
        severity: config.port_scan.severity,
        trapNames,
      }),
    );
  if (config.volume.enabled)
    out.push(
      new VolumeDetector({
        maxKeys,
        factor: config.volume.factor,
        minSamples: config.volume.min_samples,
        minBytes: config.volume.min_bytes,
        minRows: config.volume.min_rows,
        severity: config.volume.severity,
      }),
    );
  if (config.new_statement_class.enabled)
    out.push(
      new StatementClassDetector({ maxKeys, severity: config.new_statement_class.severity }),
    );
  return out;
}

export class DetectorEngine {
  private readonly opts: EngineOptions;
  private readonly detectors: Detector[];
  /** `detector|key` → epoch ms until which it does not fire again. */
  private readonly cooldown: BoundedMap<string, number>;
  private learningEndsMs: number | null = null;
  /** Records with a sequence below this were seen by the rebuild. */
  private liveFrom = 0;
  private pending: EventRow[] = [];
  private scheduled = false;
  /** False until the rebuild finished: live rows wait so baselines are complete first. */
  private ready = false;
  private unsubscribe: (() => void) | null = null;
  private readonly ownAlerts = new Set<string>();
  /** Firings appended since start (metrics, tests). */
  fired = 0;

  constructor(opts: EngineOptions) {
    this.opts = opts;
    this.detectors = buildDetectors(opts.config, opts.traps ?? []);
    this.cooldown = new BoundedMap(opts.config.max_keys);
  }

  /** Rebuild baselines from the store, then follow commits. */
  async start(): Promise<void> {
    this.unsubscribe = this.opts.recorder.onCommit((rows) => this.enqueue(rows));
    await this.rebuild();
    this.ready = true;
    this.enqueue([]);
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.pending = [];
  }

  /** Feed the store's recent window to every detector in the replay phase (no firing). */
  async rebuild(): Promise<void> {
    const { store, config } = this.opts;
    const end = this.opts.recorder.size;
    this.liveFrom = end;
    const first = store.getBySequence(0);
    if (first !== undefined)
      this.learningEndsMs = Number(first.timestampNs / 1_000_000n) + config.learning;
    const sinceNs = BigInt(this.nowMs() - config.baseline_window) * 1_000_000n;
    const start = store.search({ sinceNs, order: 'oldest', limit: 1 }).rows[0]?.sequence ?? end;
    for (let from = start; from < end; from += REBUILD_CHUNK) {
      const chunk = [...store.iterate(from, Math.min(end, from + REBUILD_CHUNK))];
      for (const row of chunk) this.observe(row, 'replay');
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  private enqueue(rows: readonly EventRow[]): void {
    for (const row of rows) this.pending.push(row);
    if (this.scheduled || !this.ready) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      const batch = this.pending;
      this.pending = [];
      this.observeCommitted(batch);
    });
  }

  /** Observe committed rows now (live), append what fires, send committed alerts. */
  observeCommitted(rows: readonly EventRow[]): Firing[] {
    const fired: Firing[] = [];
    for (const row of rows) {
      if (row.sequence < this.liveFrom) continue;
      if (row.action.startsWith('anomaly-') || row.action === 'audit-finding') {
        this.forward(row);
        continue;
      }
      this.learningEndsMs ??= Number(row.timestampNs / 1_000_000n) + this.opts.config.learning;
      const phase: Phase =
        Number(row.timestampNs / 1_000_000n) < this.learningEndsMs ? 'learning' : 'live';
      for (const firing of this.observe(row, phase)) {
        fired.push(firing);
        this.append(firing);
      }
    }
    return fired;
  }

  private observe(row: EventRow, phase: Phase): Firing[] {
    const o = new Observation(row);
    if (row.action.startsWith('anomaly-')) {
      if (phase === 'replay') this.restoreCooldown(o);
      return [];
    }
    if (row.action === 'audit-finding' || row.action === 'checkpoint') return [];
    const out: Firing[] = [];
    for (const detector of this.detectors) {
      let firing: Firing | null;
      try {
        firing = detector.observe(o, phase);
      } catch (err) {
        this.opts.log?.error(
          { detector: detector.name, err: errorMessage(err) },
          'detector failed',
        );
        continue;
      }
      if (firing === null) continue;
      const key = `${firing.detector}|${firing.key}`;
      const until = this.cooldown.get(key);
      if (until !== undefined && until > o.timeMs) continue;
      this.cooldown.set(key, o.timeMs + this.opts.config.cooldown);
      out.push(firing);
    }
    return out;
  }

  /** An alert recorded before a restart keeps its detector and key quiet for the cooldown. */
  private restoreCooldown(o: Observation): void {
    const detector = o.stringField('alert.detector');
    const key = o.stringField('alert.key');
    if (detector !== null && key !== null)
      this.cooldown.set(`${detector}|${key}`, o.timeMs + this.opts.config.cooldown);
  }

  private append(firing: Firing): RecordRef {
    const alert: JsonObject = {
      detector: firing.detector,
      severity: firing.severity,
      key: firing.key,
    };
    if (firing.facts !== undefined) alert.facts = firing.facts;
    const related: JsonObject = { events: [...firing.related] };
    if (firing.sourceIp !== null) related.ip = [firing.sourceIp];
    if (firing.user !== null) related.user = [firing.user];
    const fields: JsonObject = {};
    if (firing.listener !== null) fields.listener = { name: firing.listener };
    if (firing.sourceIp !== null) fields.source = { ip: firing.sourceIp };
    if (firing.user !== null) fields.user = { name: firing.user };
    const ref = this.opts.recorder.append(
      {
        event: {
          action: `anomaly-${firing.detector}`,
          kind: 'alert',
          category: ['intrusion_detection'],
          type: ['indicator'],
          severity: SEVERITY_SCORE[firing.severity],
          reason: firing.reason,
        },
        alert,
        related,
      },
      {
        ...NO_CONTEXT,
        fields,
        listener: firing.listener,
        sourceIp: firing.sourceIp,
        user: firing.user,
      },
    );
    this.ownAlerts.add(ref.id);
    this.fired++;
    return ref;
  }

  /** Send a committed alert (ours) or audit finding to the sinks. */
  private forward(row: EventRow): void {
    const sinks = this.opts.sinks ?? [];
    const own = this.ownAlerts.delete(row.id);
    if (sinks.length === 0 || row.body === null) return;
    if (row.action.startsWith('anomaly-') && !own) return;
    const o = new Observation(row);
    const record = o.body();
    if (record === null) return;
    const severity = o.stringField('alert.severity');
    const min = SEVERITIES.indexOf(this.opts.minSeverity ?? 'low');
    if (severity !== null && SEVERITIES.indexOf(severity as Severity) < min) return;
    const key =
      row.action === 'audit-finding'
        ? `audit-finding|${o.stringField('finding.kind') ?? ''}|${o.numberField('finding.port') ?? ''}|${row.listener ?? ''}`
        : `${row.action}|${o.stringField('alert.key') ?? row.id}`;
    for (const sink of sinks) sink.send(record, { dedupKey: key });
  }

  private nowMs(): number {
    return this.opts.now?.() ?? Date.now();
  }
}
