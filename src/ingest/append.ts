/**
 * Appends parsed log lines to the node's Merkle log through a Recorder. A malformed line
 * is counted and its first reasons kept for the report; it never stops the ingest.
 */
import type { Recorder } from '../audit/recorder.js';
import { AuditdParser } from './auditd.js';
import { ConntrackParser } from './conntrack.js';
import { type Ingested, type LineParser, Malformed, ingestedContext } from './ingested.js';
import { K8sAuditParser } from './k8s-audit.js';
import type { IngestFormat } from './schema.js';

export interface IngestReport {
  lines: number;
  ingested: number;
  malformed: number;
  /** Complete events that are not network events (e.g. an AF_UNIX connect). */
  skipped: number;
  /** The first malformed lines (1-based line number and reason). */
  readonly errors: { line: number; reason: string }[];
}

const KEPT_ERRORS = 20;
const FLUSH_EVERY = 1000;

export function parserFor(format: IngestFormat): LineParser & { skipped?: number } {
  switch (format) {
    case 'k8s-audit':
      return new K8sAuditParser();
    case 'auditd':
      return new AuditdParser();
    case 'conntrack':
      return new ConntrackParser();
    default: {
      const never: never = format;
      throw new Error(`unknown format ${String(never)}`);
    }
  }
}

export function emptyReport(): IngestReport {
  return { lines: 0, ingested: 0, malformed: 0, skipped: 0, errors: [] };
}

/** Feeds one line; appends what it completed. */
export function ingestLine(
  parser: LineParser,
  text: string,
  recorder: Recorder,
  report: IngestReport,
): void {
  report.lines++;
  const out = parser.line(text);
  if (out instanceof Malformed) {
    report.malformed++;
    if (report.errors.length < KEPT_ERRORS)
      report.errors.push({ line: report.lines, reason: out.reason });
    return;
  }
  append(out, recorder, report);
  if (report.lines % FLUSH_EVERY === 0) recorder.flush();
}

export function endInput(
  parser: LineParser & { skipped?: number },
  recorder: Recorder,
  report: IngestReport,
): void {
  append(parser.end(), recorder, report);
  report.skipped = parser.skipped ?? 0;
  recorder.flush();
}

function append(events: readonly Ingested[], recorder: Recorder, report: IngestReport): void {
  for (const e of events) {
    recorder.append(e.input, ingestedContext(e));
    report.ingested++;
  }
}

/** Ingests every line of `lines` (a file or stdin, split by the caller). */
export async function ingestLines(
  format: IngestFormat,
  lines: AsyncIterable<string>,
  recorder: Recorder,
): Promise<IngestReport> {
  const parser = parserFor(format);
  const report = emptyReport();
  for await (const text of lines) ingestLine(parser, text, recorder, report);
  endInput(parser, recorder, report);
  return report;
}
