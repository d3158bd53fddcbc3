/**
 * `portwarden ports scan|drift` — the host's listening sockets with their processes, and the
 * drift audit against the declared inventory (docs/inventory.md).
 *
 * Findings are recorded as `audit-finding` only when no gateway holds the data dir: two
 * recorders in two processes would hand out the same sequence numbers. While a gateway runs,
 * its scheduled audit (`audit.schedule`) records them instead, and `ports drift` only prints.
 */
import { Command } from 'commander';
import type { Config, HostPort } from '../../config/index.js';
import { gatewayRunning } from '../../gateway/index.js';
import {
  auditDrift,
  formatEndpoint,
  recordFindings,
  scanListeningSockets,
  type DriftFinding,
  type ListeningSocket,
} from '../../inventory/index.js';
import { type Store } from '../../store/index.js';
import { openLocalLog } from '../local-log.js';
import {
  dataDirFromOptions,
  loadFromOptions,
  openStoreForReading,
  storeExists,
  runCommand,
  usage,
} from '../io.js';

type PortsFormat = 'table' | 'ndjson';

function parseFormat(text: string): PortsFormat {
  if (text !== 'table' && text !== 'ndjson')
    throw usage(`--format is table or ndjson, got "${text}"`);
  return text;
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return (
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(' ')
      .trimEnd() + '\n'
  );
}

const SCAN_WIDTHS = [5, 42, 8, 10, 0];

export function formatSockets(sockets: readonly ListeningSocket[], format: PortsFormat): string {
  if (format === 'ndjson') return sockets.map((s) => `${JSON.stringify(s)}\n`).join('');
  let out = pad(['PROTO', 'ADDRESS', 'PID', 'USER', 'PROCESS'], SCAN_WIDTHS);
  for (const s of sockets) {
    const p = s.processes[0];
    out += pad(
      [
        s.family,
        formatEndpoint(s.ip, s.port),
        p === undefined ? '-' : String(p.pid),
        p?.user ?? String(s.uid),
        p === undefined
          ? '(not visible)'
          : (p.exe ?? p.comm ?? '?') +
            (s.processes.length > 1 ? ` (+${s.processes.length - 1})` : ''),
      ],
      SCAN_WIDTHS,
    );
  }
  return out;
}

const DRIFT_WIDTHS = [26, 7, 7, 0];

export function formatFindings(findings: readonly DriftFinding[], format: PortsFormat): string {
  if (format === 'ndjson') return findings.map((f) => `${JSON.stringify(f)}\n`).join('');
  if (findings.length === 0)
    return 'no drift: every listening port is declared and every target is as declared\n';
  let out = pad(['FINDING', 'SEV', 'PORT', 'DETAIL'], DRIFT_WIDTHS);
  for (const f of findings)
    out += pad(
      [f.kind, f.severity, f.port === null ? '-' : String(f.port), f.detail],
      DRIFT_WIDTHS,
    );
  return out;
}

/** Where the gateway itself listens, as the config declares it. */
export function declaredOwnEndpoints(config: Config): HostPort[] {
  const own: HostPort[] = config.listeners.map((l) => l.listen);
  for (const t of config.traps) own.push(t.listen);
  if (config.api.enabled) own.push(config.api.listen);
  return own;
}

/**
 * Append findings from this process (no gateway holds the store): the same recorder and
 * Merkle tree hook the gateway uses, so the log stays gapless and verifiable.
 */
export function appendFindingsOffline(
  config: Config,
  dataDir: string,
  findings: readonly DriftFinding[],
): number {
  const log = openLocalLog(dataDir, config.node, { fsync: config.audit.fsync });
  recordFindings(log.recorder, findings);
  log.close({ checkpoint: false });
  return findings.length;
}

interface DriftFlags {
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
      runCommand(async () => {
        const format = parseFormat(flags.format);
        process.stdout.write(formatSockets(await scanListeningSockets(), format));
        return 0;
      }),
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
      runCommand(async () => {
        const format = parseFormat(flags.format);
        const timeout = Number(flags.timeout);
        if (!Number.isInteger(timeout) || timeout <= 0) throw usage('--timeout takes milliseconds');
        const { config } = loadFromOptions(command);
        const dataDir = dataDirFromOptions(command);
        const pid = gatewayRunning(dataDir);
        let reader: Store | undefined;
        if (storeExists(dataDir)) reader = openStoreForReading(dataDir);
        let findings: DriftFinding[];
        try {
          findings = await auditDrift({
            config,
            sockets: await scanListeningSockets(),
            ownEndpoints: declaredOwnEndpoints(config),
            ownPids: pid === null ? [] : [pid],
            connectTimeoutMs: timeout,
            ...(reader ? { store: reader } : {}),
          });
        } finally {
          reader?.close();
        }
        process.stdout.write(formatFindings(findings, format));
        if (findings.length > 0 && flags.record) {
          if (pid !== null)
            process.stderr.write(
              `not recorded: gateway pid ${pid} holds ${dataDir}; its scheduled audit (audit.schedule) records findings\n`,
            );
          else {
            const n = appendFindingsOffline(config, dataDir, findings);
            process.stderr.write(
              `recorded ${n} audit-finding event${n === 1 ? '' : 's'} in ${dataDir}\n`,
            );
          }
        }
        return findings.length > 0 ? 1 : 0;
      }),
    );
}

export function portsCommand(): Command {
  return new Command('ports')
    .description('listening sockets and the drift audit against the declared inventory')
    .addCommand(scanCommand())
    .addCommand(driftCommand());
}
