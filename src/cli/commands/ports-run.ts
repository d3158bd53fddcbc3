/** `portwarden ports scan|drift` when they run (ports.ts defines the commands). */
import type { Command } from 'commander';
import type { Config, HostPort } from '../../config/index.js';
import { gatewayRunning } from '../../gateway/index.js';
import {
  auditDrift,
  recordFindings,
  scanListeningSockets,
  type DriftFinding,
} from '../../inventory/index.js';
import { type Store } from '../../store/index.js';
import {
  dataDirFromOptions,
  loadFromOptions,
  openStoreForReading,
  storeExists,
} from '../data-dir.js';
import { usage } from '../io.js';
import { openLocalLog } from '../local-log.js';
import type { DriftFlags } from './ports.js';
import { formatFindings, formatSockets, parseFormat } from './ports-format.js';

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

/** `ports scan`. */
export async function runScan(flags: { readonly format: string }): Promise<number> {
  const format = parseFormat(flags.format);
  process.stdout.write(formatSockets(await scanListeningSockets(), format));
  return 0;
}

/** `ports drift`. */
export async function runDrift(flags: DriftFlags, command: Command): Promise<number> {
  const format = parseFormat(flags.format);
  const timeout = Number(flags.timeout);
  if (!Number.isInteger(timeout) || timeout <= 0) throw usage('--timeout takes milliseconds');
  const { config } = await loadFromOptions(command);
  const dataDir = await dataDirFromOptions(command);
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
}
