/**
 * off-hours: a connection to a listener in an hour of the day (in the configured time zone)
 * in which that listener's baseline has never had one, once the baseline holds
 * `min_samples` connections. 24 counters per listener.
 */
import { BoundedMap } from './bounded.js';
import type { Detector, Firing, Observation, Phase } from './observation.js';
import type { Severity } from './schema.js';

interface HourCounts {
  readonly byHour: number[];
  total: number;
}

export class OffHoursDetector implements Detector {
  readonly name = 'off-hours';
  private readonly listeners: BoundedMap<string, HourCounts>;
  private readonly minSamples: number;
  private readonly severity: Severity;
  private readonly hourOf: (ms: number) => number;

  constructor(opts: { maxKeys: number; minSamples: number; severity: Severity; timezone: string }) {
    this.listeners = new BoundedMap(opts.maxKeys);
    this.minSamples = opts.minSamples;
    this.severity = opts.severity;
    this.hourOf = hourFunction(opts.timezone);
  }

  observe(o: Observation, phase: Phase): Firing | null {
    const { row } = o;
    if (row.action !== 'connection-open' || row.outcome === 'failure' || row.listener === null)
      return null;
    const counts = this.listeners.upsert(row.listener, () => ({
      byHour: new Array<number>(24).fill(0),
      total: 0,
    }));
    const hour = this.hourOf(o.timeMs);
    const before = counts.byHour[hour] ?? 0;
    counts.byHour[hour] = before + 1;
    counts.total++;
    if (phase !== 'live' || before > 0 || counts.total - 1 < this.minSamples) return null;
    const usual = counts.byHour.map((n, h) => (n > 0 && h !== hour ? h : -1)).filter((h) => h >= 0);
    return {
      detector: this.name,
      key: `${row.listener}|${hour}`,
      severity: this.severity,
      reason: `connection to ${row.listener} at hour ${pad(hour)} where its ${counts.total - 1} baseline connections never were (usual hours: ${describeHours(usual)})`,
      related: [row.id],
      sourceIp: row.sourceIp,
      listener: row.listener,
      user: row.user,
      facts: { hour, baseline_connections: counts.total - 1 },
    };
  }
}

function pad(hour: number): string {
  return `${String(hour).padStart(2, '0')}:00`;
}

/** `08-17, 20` from a sorted list of hours. */
function describeHours(hours: readonly number[]): string {
  const ranges: string[] = [];
  let start = -1;
  let prev = -2;
  for (const h of [...hours, 99]) {
    if (h !== prev + 1) {
      if (start >= 0)
        ranges.push(
          start === prev
            ? String(start).padStart(2, '0')
            : `${String(start).padStart(2, '0')}-${String(prev).padStart(2, '0')}`,
        );
      start = h;
    }
    prev = h;
  }
  return ranges.join(', ');
}

/** Hour of day (0–23) of an epoch-ms instant in an IANA zone; UTC needs no formatter. */
export function hourFunction(timezone: string): (ms: number) => number {
  if (timezone === 'UTC') return (ms) => new Date(ms).getUTCHours();
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: timezone,
    hour: 'numeric',
    hourCycle: 'h23',
  });
  return (ms) => Number(format.format(ms)) % 24;
}
