/**
 * `portwarden ports scan|drift` — the host's listening sockets with their processes, and the
 * drift audit against the declared inventory (docs/inventory.md).
 *
 * Findings are recorded as `audit-finding` only when no gateway holds the data dir: two
 * recorders in two processes would hand out the same sequence numbers. While a gateway runs,
 * its scheduled audit (`audit.schedule`) records them instead, and `ports drift` only prints.
 */
import { Command } from 'commander';
import { runCommand } from '../io.js';

export { formatSockets } from './ports-format.js';

export interface DriftFlags {
  readonly format: string;
  readonly record: boolean;
  readonly timeout: string;
}

function scanCommand(): Command {
  return new Command('scan')
    .description('list every listening TCP socket (IPv4 and IPv6) with its process')
    .option('--format <format>', 'table or ndjson', 'table')
    .addHelpText(
      'after',
      `
Reads /proc/net/tcp and /proc/net/tcp6, and /proc/<pid>/fd for the owning processes.
Processes of other users are visible only to root (their sockets show "(not visible)").

Examples:
  portwarden ports scan
  sudo portwarden ports scan --format ndjson | jq 'select(.port == 5432)'
`,
    )
    .action((flags: { format: string }) =>
      runCommand(async () => (await import('./ports-run.js')).runScan(flags)),
    );
}

function driftCommand(): Command {
  return new Command('drift')
    .description('compare what listens with the declared inventory; exit 1 on any finding')
    .option('--format <format>', 'table or ndjson', 'table')
    .option('--no-record', 'do not record findings as audit-finding events')
    .option('--timeout <ms>', 'connect-test timeout in ms', '2000')
    .addHelpText(
      'after',
      `
Findings: undeclared-listener (a blind spot), target-not-listening, target-unreachable,
target-reachable-directly (ingested conntrack/auditd evidence, or a connect test from this
host to a target bound beyond loopback), listener-undocumented (no owner or purpose).

Findings are recorded as audit-finding events unless a gateway is running on the data dir
(then its scheduled audit records them; this command only prints).

Examples:
  portwarden ports drift -c /etc/portwarden/portwarden.yaml
  portwarden ports drift --format ndjson --no-record

Exit codes: 0 no drift, 1 findings, 2 error.
`,
    )
    .action((flags: DriftFlags, command: Command) =>
      runCommand(async () => (await import('./ports-run.js')).runDrift(flags, command)),
    );
}

export function portsCommand(): Command {
  return new Command('ports')
    .description('listening sockets and the drift audit against the declared inventory')
    .addCommand(scanCommand())
    .addCommand(driftCommand());
}
