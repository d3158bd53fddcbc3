/**
 * Everything that watches a running gateway: trap ports, the detector engine, the alert
 * sinks and the scheduled audit — started after the gateway listens, stopped after it
 * drained (so alerts about the last connections still go out or spill).
 */
import type { Logger } from 'pino';
import type { JsonObject } from '../audit/event.js';
import type { HostPort } from '../config/index.js';
import type { Gateway } from '../gateway/index.js';
import { ScheduledAudit } from '../inventory/index.js';
import { createSinks, type Sink } from '../sinks/index.js';
import { DetectorEngine } from './engine.js';
import { openTraps, type TrapListener } from './traps.js';

export interface Monitoring {
  readonly engine: DetectorEngine | null;
  readonly traps: readonly TrapListener[];
  readonly sinks: ReadonlyMap<string, Sink>;
  readonly schedule: ScheduledAudit | null;
  /** Stop the schedule, traps and detectors; flush or spill what the sinks hold. */
  stop(): Promise<void>;
}

export async function startMonitoring(gateway: Gateway, log?: Logger): Promise<Monitoring> {
  const { config } = gateway.loaded;
  const sinks = createSinks(config.sinks, config.data_dir, log);
  const alertSinks = [...sinks.values()].filter(
    (s) => config.alerts.sinks === undefined || config.alerts.sinks.includes(s.name),
  );
  const recordSinks = [...sinks.values()].filter((s) => config.records.sinks.includes(s.name));
  const stopRecordStream = streamRecords(gateway, recordSinks, config.records.actions);
  const traps = await openTraps(config.traps, gateway.recorder, log);
  let engine: DetectorEngine | null = null;
  if (config.detectors.enabled) {
    engine = new DetectorEngine({
      config: config.detectors,
      traps: config.traps.map((t) => t.name),
      store: gateway.store,
      recorder: gateway.recorder,
      sinks: alertSinks,
      minSeverity: config.alerts.min_severity,
      ...(log ? { log } : {}),
    });
    await engine.start();
  }
  let schedule: ScheduledAudit | null = null;
  if (config.audit.schedule !== undefined) {
    schedule = new ScheduledAudit({
      pattern: config.audit.schedule,
      config,
      dataDir: config.data_dir,
      store: gateway.store,
      recorder: gateway.recorder,
      ownEndpoints: (): HostPort[] => [
        ...gateway.listeners.map((l) => l.address()),
        ...traps.map((t) => t.address()),
        ...(config.api.enabled ? [config.api.listen] : []),
      ],
      ...(log ? { log } : {}),
    });
    schedule.start();
  }
  return {
    engine,
    traps,
    sinks,
    schedule,
    async stop(): Promise<void> {
      schedule?.stop();
      await Promise.all(traps.map((t) => t.close()));
      // Let the engine see the last commits (and forward its alerts) before it stops.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      engine?.stop();
      stopRecordStream();
      await Promise.all([...sinks.values()].map((s) => s.close()));
    },
  };
}

/**
 * `records.sinks`: every committed record, in commit order, to each named sink (which
 * retries, spills and replays on its own). Returns the unsubscribe function.
 */
function streamRecords(
  gateway: Gateway,
  sinks: readonly Sink[],
  actions: readonly string[] | undefined,
): () => void {
  if (sinks.length === 0) return () => undefined;
  const wanted = actions === undefined ? null : new Set(actions);
  return gateway.recorder.onCommit((rows) => {
    for (const row of rows) {
      if (row.body === null || (wanted !== null && !wanted.has(row.action))) continue;
      const record = JSON.parse(row.body) as JsonObject;
      for (const sink of sinks) sink.send(record, { dedupKey: row.id });
    }
  });
}
