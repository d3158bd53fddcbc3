/**
 * Prometheus metrics (prom-client), all from this one module: live connections per
 * listener, records appended, commit latency, denials, store errors, parser errors and how
 * far the search index is behind the log.
 * Each API server has its own Registry, so two gateways in one process never collide.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Recorder } from '../audit/recorder.js';
import { type EventRow, SqliteStore, type Store } from '../store/index.js';
import { isDenied, recordField } from './records.js';

export interface MetricsSources {
  readonly store: Store;
  readonly recorder: Recorder;
  /** Live connection counts by listener name, read at scrape time. */
  readonly activeConnections: () => ReadonlyMap<string, number>;
  readonly defaultMetrics?: boolean;
}

export class GatewayMetrics {
  readonly registry = new Registry();
  private readonly detach: (() => void)[] = [];

  constructor(src: MetricsSources) {
    const registers = [this.registry];
    new Gauge({
      name: 'portwarden_active_connections',
      help: 'Connections open through the gateway now, per listener.',
      labelNames: ['listener'],
      registers,
      collect() {
        this.reset();
        for (const [listener, n] of src.activeConnections()) this.set({ listener }, n);
      },
    });
    const appended = new Counter({
      name: 'portwarden_records_appended_total',
      help: 'Audit records committed to the store since start.',
      registers,
    });
    const commitSeconds = new Histogram({
      name: 'portwarden_commit_seconds',
      help: 'Time one group commit (one store transaction) took.',
      buckets: [
        0.00001, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1,
      ],
      registers,
    });
    const denials = new Counter({
      name: 'portwarden_denials_total',
      help: 'Connections and actions denied by policy, per listener and action.',
      labelNames: ['listener', 'action'],
      registers,
    });
    const storeErrors = new Counter({
      name: 'portwarden_store_errors_total',
      help: 'Times the audit store went from accepting to refusing commits.',
      registers,
    });
    const parserErrors = new Counter({
      name: 'portwarden_parser_errors_total',
      help: 'Connections closed for a wire-protocol violation, per listener.',
      labelNames: ['listener'],
      registers,
    });
    const store = src.store;
    if (store instanceof SqliteStore)
      new Gauge({
        name: 'portwarden_index_lag_records',
        help: 'Committed records the search index has not reached yet (searches read them from the log, more slowly).',
        registers,
        collect() {
          const s = store.indexStatus();
          this.set(Math.max(0, s.logEnd - s.indexedUpto));
        },
      });
    if (src.defaultMetrics !== false) collectDefaultMetrics({ register: this.registry });

    const onRows = (rows: readonly EventRow[]): void => {
      appended.inc(rows.length);
      for (const r of rows) {
        // Only failures and closes are parsed: the rest cannot be denials or parser errors.
        if (r.outcome !== 'failure' && r.action !== 'connection-close') continue;
        if (r.body === null) continue;
        const record = JSON.parse(r.body) as Parameters<typeof isDenied>[0];
        const listener = r.listener ?? '-';
        if (isDenied(record)) denials.inc({ listener, action: r.action });
        if (recordField(record, 'event.reason') === 'protocol-error')
          parserErrors.inc({ listener });
      }
    };
    this.detach.push(src.recorder.onCommit(onRows));
    this.detach.push(
      src.recorder.onHealth((healthy) => {
        if (!healthy) storeErrors.inc();
      }),
    );
    this.detach.push(timeTransactions(src.store, (seconds) => commitSeconds.observe(seconds)));
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    return { body: await this.registry.metrics(), contentType: this.registry.contentType };
  }

  close(): void {
    for (const d of this.detach.splice(0)) d();
  }
}

/**
 * The recorder commits every batch in one `store.transaction`, or hands it to the embedded
 * store's writer thread (`transactionInBackground`, done when its answer lands); timing
 * either is the commit latency as the gateway sees it. The store instance's methods are
 * wrapped (and restored on close) because the recorder has no timing hook of its own.
 */
function timeTransactions(store: Store, observe: (seconds: number) => void): () => void {
  const since = (start: bigint): number => Number(process.hrtime.bigint() - start) / 1e9;
  const restore: (() => void)[] = [];
  restore.push(
    wrapMethod(store, 'transaction', (original) => (fn) => {
      const start = process.hrtime.bigint();
      try {
        original(fn);
      } finally {
        observe(since(start));
      }
    }),
  );
  if (store.transactionInBackground !== undefined)
    restore.push(
      wrapMethod(store, 'transactionInBackground', (original) => (records, fn, done, edge) => {
        const start = process.hrtime.bigint();
        const timed: typeof done = (err, landing) => {
          observe(since(start));
          done(err, landing);
        };
        return original(records, fn, timed, edge);
      }),
    );
  return () => {
    for (const r of restore) r();
  };
}

/** Replaces `store[name]` with a wrapper of the bound original; returns the undo. */
function wrapMethod<K extends 'transaction' | 'transactionInBackground'>(
  store: Store,
  name: K,
  wrap: (original: NonNullable<Store[K]>) => NonNullable<Store[K]>,
): () => void {
  const own = Object.prototype.hasOwnProperty.call(store, name);
  const previous = store[name] as NonNullable<Store[K]>;
  const original = previous.bind(store) as NonNullable<Store[K]>;
  store[name] = wrap(original);
  return () => {
    if (own) store[name] = previous;
    else delete (store as Partial<Store>)[name];
  };
}
