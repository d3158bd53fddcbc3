/**
 * volume: a connection that moved far more bytes (both directions) or returned far more rows
 * than its listener's usual connection — more than `factor` × the median of the listener's
 * last 256 connections, and at least `min_bytes` / `min_rows`. Rows are summed per
 * connection from db-result records until its close.
 */
import { BoundedMap } from './bounded.js';
import type { Detector, Firing, Observation, Phase } from './observation.js';
import type { Severity } from './schema.js';

const RING = 256;

class Ring {
  private readonly values: number[] = [];
  private at = 0;
  get count(): number {
    return this.values.length;
  }
  push(value: number): void {
    if (this.values.length < RING) this.values.push(value);
    else this.values[this.at] = value;
    this.at = (this.at + 1) % RING;
  }
  median(): number {
    const sorted = [...this.values].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1
      ? (sorted[mid] ?? 0)
      : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
  }
}

interface ListenerBaseline {
  readonly bytes: Ring;
  readonly rows: Ring;
}

export interface VolumeOptions {
  readonly maxKeys: number;
  readonly factor: number;
  readonly minSamples: number;
  readonly minBytes: number;
  readonly minRows: number;
  readonly severity: Severity;
}

export class VolumeDetector implements Detector {
  readonly name = 'volume';
  private readonly opts: VolumeOptions;
  private readonly listeners: BoundedMap<string, ListenerBaseline>;
  /** Rows returned so far per open connection. */
  private readonly rowsByConnection: BoundedMap<string, number>;

  constructor(opts: VolumeOptions) {
    this.opts = opts;
    this.listeners = new BoundedMap(opts.maxKeys);
    this.rowsByConnection = new BoundedMap(opts.maxKeys);
  }

  observe(o: Observation, phase: Phase): Firing | null {
    const { row } = o;
    if (row.connectionId === null || row.listener === null) return null;
    if (row.action === 'db-result') {
      const rows = o.numberField('db.response.returned_rows');
      if (rows !== null && rows > 0)
        this.rowsByConnection.set(
          row.connectionId,
          (this.rowsByConnection.get(row.connectionId) ?? 0) + rows,
        );
      return null;
    }
    if (row.action !== 'connection-close') return null;
    const bytes = (o.numberField('source.bytes') ?? 0) + (o.numberField('destination.bytes') ?? 0);
    const rows = this.rowsByConnection.get(row.connectionId) ?? 0;
    this.rowsByConnection.delete(row.connectionId);
    const baseline = this.listeners.upsert(row.listener, () => ({
      bytes: new Ring(),
      rows: new Ring(),
    }));
    const firing = phase === 'live' ? this.judge(o, baseline, bytes, rows) : null;
    baseline.bytes.push(bytes);
    baseline.rows.push(rows);
    return firing;
  }

  private judge(
    o: Observation,
    baseline: ListenerBaseline,
    bytes: number,
    rows: number,
  ): Firing | null {
    if (baseline.bytes.count < this.opts.minSamples) return null;
    const { factor } = this.opts;
    const medianBytes = baseline.bytes.median();
    const medianRows = baseline.rows.median();
    const overBytes = bytes >= this.opts.minBytes && bytes > factor * medianBytes;
    const overRows = rows >= this.opts.minRows && rows > factor * medianRows;
    if (!overBytes && !overRows) return null;
    const { row } = o;
    const what = overBytes
      ? `${bytes} bytes (listener median ${Math.round(medianBytes)})`
      : `${rows} rows (listener median ${Math.round(medianRows)})`;
    return {
      detector: this.name,
      key: `${row.listener ?? '-'}|${row.connectionId ?? '-'}`,
      severity: this.opts.severity,
      reason: `connection ${row.connectionId ?? '-'} to ${row.listener ?? '-'} moved ${what}: more than ${factor}× usual`,
      related: [row.id],
      sourceIp: row.sourceIp,
      listener: row.listener,
      user: row.user,
      facts: { bytes, rows, median_bytes: medianBytes, median_rows: medianRows, factor },
    };
  }
}
