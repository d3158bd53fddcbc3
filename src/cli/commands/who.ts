/**
 * `portwarden who IP:PORT [--at TIME]` — which connection held that endpoint, on its client
 * leg (source) or its upstream leg (the gateway's own source port the target saw), then.
 */
import { Command } from 'commander';
import { runCommand } from '../io.js';

export interface WhoFlags {
  readonly at?: string;
  readonly format: string;
}

export function whoCommand(): Command {
  return new Command('who')
    .description('which connection held an endpoint (either leg) at a moment')
    .argument('<endpoint>', 'IP:PORT (IPv6 as [::1]:5432)')
    .option('--at <time>', 'RFC 3339 or relative (default now)')
    .option('--format <format>', 'table or ndjson', 'table')
    .addHelpText(
      'after',
      `
Examples:
  portwarden who 10.0.0.5:51234 --at 2026-11-23T03:00:00Z
  portwarden who 127.0.0.1:40522 --at 5m      # a client_port from pg_stat_activity
`,
    )
    .action((endpoint: string, flags: WhoFlags, command: Command) =>
      runCommand(async () => (await import('./who-run.js')).runWho(endpoint, flags, command)),
    );
}
