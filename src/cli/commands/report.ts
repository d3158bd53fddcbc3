/** `portwarden report` — the periodic audit report as self-contained HTML plus JSON. */
import { Command } from 'commander';
import { runCommand } from '../io.js';

export interface ReportFlags {
  readonly since: string;
  readonly until?: string;
  readonly out: string;
  readonly verify: boolean;
}

export function reportCommand(): Command {
  return new Command('report')
    .description(
      'write the audit report (HTML and JSON): access matrix, denials, anomalies, drift, policy changes, integrity',
    )
    .option('--since <time>', 'start: RFC 3339 or relative (7d, 24h)', '7d')
    .option('--until <time>', 'end: RFC 3339 or relative (default now)')
    .option('--out <file>', 'the HTML file; the JSON goes beside it with .json', 'report.html')
    .option('--no-verify', 'skip verifying the log (integrity shows "not checked")')
    .addHelpText(
      'after',
      `
The HTML is one file with inline CSS and SVG charts: it opens offline and can be archived.
Drift findings are those of the newest audit run in the period (portwarden ports drift, or
the scheduled audit: audit.schedule).

Examples:
  portwarden report --since 7d --out report.html      # writes report.html and report.json
  portwarden report --since 2026-11-01T00:00:00Z --until 2026-12-01T00:00:00Z --out nov.html
`,
    )
    .action((flags: ReportFlags, command: Command) =>
      runCommand(async () => (await import('./report-run.js')).runReport(flags, command)),
    );
}
