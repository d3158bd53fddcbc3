/**
 * The scheduled audit (`audit.schedule`, cron syntax via croner): inside the running gateway,
 * scan the host and run the drift audit (findings recorded through the gateway's Recorder,
 * so sequences stay gapless), verify the whole log, and write a report covering the time
 * since the previous run into `<data_dir>/reports/`.
 */
import { join } from 'node:path';
import { Cron } from 'croner';
import type { Logger } from 'pino';
import type { Recorder } from '../audit/recorder.js';
import type { Config, HostPort } from '../config/index.js';
import { errorMessage } from '../errors.js';
import type { Store } from '../store/index.js';
import { auditDrift, type DriftFinding } from './drift.js';
import { recordFindings } from './findings.js';
import {
  buildReport,
  checkIntegrity,
  writeReportFiles,
  type IntegrityStatus,
} from './report/index.js';
import { scanListeningSockets } from './scan.js';

export interface ScheduledAuditOptions {
  readonly pattern: string;
  readonly config: Config;
  readonly dataDir: string;
  readonly store: Store;
  readonly recorder: Recorder;
  /** Where the gateway listens right now (listeners, traps, API). */
  readonly ownEndpoints: () => readonly HostPort[];
  /** First report's period when there was no earlier run (default 7 days). */
  readonly firstPeriodMs?: number;
  readonly log?: Logger;
}

export interface AuditRun {
  readonly findings: readonly DriftFinding[];
  readonly integrity: IntegrityStatus;
  readonly report: { readonly html: string; readonly json: string };
}

export class ScheduledAudit {
  private readonly opts: ScheduledAuditOptions;
  private job: Cron | null = null;
  private lastRunMs: number | null = null;
  private running: Promise<AuditRun> | null = null;

  constructor(opts: ScheduledAuditOptions) {
    this.opts = opts;
  }

  start(): void {
    this.job = new Cron(this.opts.pattern, { protect: true, unref: true }, () => {
      void this.runOnce().catch((err: unknown) =>
        this.opts.log?.error({ err: errorMessage(err) }, 'scheduled audit failed'),
      );
    });
  }

  /** When the next run is due (null when stopped). */
  nextRun(): Date | null {
    return this.job?.nextRun() ?? null;
  }

  stop(): void {
    this.job?.stop();
    this.job = null;
  }

  /** Run the audit now (a run already in progress is joined, not repeated). */
  runOnce(): Promise<AuditRun> {
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async run(): Promise<AuditRun> {
    const { config, store, recorder, dataDir } = this.opts;
    const startedMs = Date.now();
    const findings = await auditDrift({
      config,
      sockets: await scanListeningSockets(),
      ownEndpoints: this.opts.ownEndpoints(),
      ownPids: [process.pid],
      store,
    });
    recordFindings(recorder, findings);
    await new Promise<void>((resolve) => recorder.afterCommit(resolve));
    const integrity = await checkIntegrity(store, dataDir);
    const sinceMs = this.lastRunMs ?? startedMs - (this.opts.firstPeriodMs ?? 7 * 86_400_000);
    const data = buildReport(store, {
      sinceNs: BigInt(sinceMs) * 1_000_000n,
      untilNs: BigInt(Date.now() + 1) * 1_000_000n,
      integrity,
      node: config.node,
    });
    const stamp = new Date(startedMs)
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    const report = writeReportFiles(data, join(dataDir, 'reports', `report-${stamp}.html`));
    this.lastRunMs = startedMs;
    this.opts.log?.info(
      { findings: findings.length, integrity: integrity.status, report: report.html },
      'scheduled audit done',
    );
    return { findings, integrity, report };
  }
}
