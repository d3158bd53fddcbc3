/** `portwarden report` when it runs (report.ts defines the command; this loads the report). */
import type { Command } from 'commander';
import { buildReport, checkIntegrity, writeReportFiles } from '../../inventory/report/index.js';
import { dataDirFromOptions, openStoreForReading } from '../data-dir.js';
import { parseTimeArg } from '../time.js';
import type { ReportFlags } from './report.js';

export async function runReport(flags: ReportFlags, command: Command): Promise<number> {
  const now = Date.now();
  const sinceNs = parseTimeArg(flags.since, now);
  const untilNs =
    flags.until === undefined ? BigInt(now + 1) * 1_000_000n : parseTimeArg(flags.until, now);
  const dataDir = await dataDirFromOptions(command);
  const store = openStoreForReading(dataDir);
  try {
    const integrity = flags.verify
      ? await checkIntegrity(store, dataDir)
      : { status: 'not-checked' as const, detail: 'skipped (--no-verify)' };
    const data = buildReport(store, { sinceNs, untilNs, integrity, nowMs: now });
    const files = writeReportFiles(data, flags.out);
    process.stderr.write(
      `wrote ${files.html} and ${files.json}: ${data.totals.records} records, ${data.totals.anomalies} anomalies, ${data.findings.length} drift findings, integrity ${data.integrity.status}\n`,
    );
    return 0;
  } finally {
    store.close();
  }
}
