/**
 * `portwarden start` when it runs, and the gateway start-up `demo` shares (start.ts defines
 * the command; this loads the gateway, the API and the monitors).
 */
import type { Command } from 'commander';
import type { LoadedConfig } from '../../config/index.js';
import { formatHostPort } from '../../config/address.js';
import { startApi, type ApiServer } from '../../api/index.js';
import { startMonitoring, type Monitoring } from '../../detect/index.js';
import { Gateway } from '../../gateway/index.js';
import { PolicyReloader, reloadOnSighup } from '../../gateway/reload.js';
import { createLogger, type Logger } from '../../log.js';
import { loadFromOptions } from '../data-dir.js';

/** The API server of each started gateway (closed by stopOnSignals). */
export const apiServers = new WeakMap<Gateway, ApiServer>();
/** Traps, detectors, alert sinks and the scheduled audit of each started gateway. */
export const monitors = new WeakMap<Gateway, Monitoring>();

/** Start everything the config describes; resolves once listening. */
export async function startGateway(loaded: LoadedConfig, log: Logger): Promise<Gateway> {
  const gateway = Gateway.create(loaded, { log });
  await gateway.start();
  for (const l of gateway.listeners) {
    const c = l.runtime.config;
    log.info(
      {
        listener: c.name,
        protocol: c.protocol,
        listen: formatHostPort(l.address()),
        target: formatHostPort(c.target),
      },
      'listening',
    );
  }
  const api = await startApi({ gateway, log }).catch(async (err: unknown) => {
    await gateway.stop(0);
    gateway.closeStore();
    throw err;
  });
  if (api) apiServers.set(gateway, api);
  const monitoring = await startMonitoring(gateway, log).catch(async (err: unknown) => {
    await api?.close();
    await gateway.stop(0);
    gateway.closeStore();
    throw err;
  });
  monitors.set(gateway, monitoring);
  return gateway;
}

/** Stop on SIGTERM/SIGINT (drain up to shutdown_timeout); a second signal stops at once. */
export function stopOnSignals(
  gateway: Gateway,
  log: Logger,
  after?: () => Promise<void> | void,
): Promise<void> {
  return new Promise((resolve) => {
    let stopping = false;
    const onSignal = (signal: string): void => {
      if (stopping) {
        log.warn({ signal }, 'second signal: stopping now');
        process.exit(2);
      }
      stopping = true;
      log.info({ signal, active: gateway.activeConnections() }, 'stopping: draining connections');
      void (apiServers.get(gateway)?.close() ?? Promise.resolve())
        .then(() => gateway.stop())
        .then(() => monitors.get(gateway)?.stop())
        .then(async () => {
          await after?.();
          gateway.closeStore();
          log.info('stopped');
          resolve();
        });
    };
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGINT', () => onSignal('SIGINT'));
  });
}

export async function runStart(command: Command): Promise<number> {
  const loaded = await loadFromOptions(command);
  const log = createLogger(process.env.PORTWARDEN_LOG_LEVEL ?? loaded.config.log.level);
  const gateway = await startGateway(loaded, log);
  // Policies follow the file: SIGHUP or a saved change reloads them (policy-reload).
  const reloader = new PolicyReloader(gateway, { file: loaded.file, log });
  reloader.recordStart();
  reloader.watch();
  apiServers.get(gateway)?.usePolicyReloader(() => reloader.reload('manual'));
  const stopHup = reloadOnSighup(reloader);
  await stopOnSignals(gateway, log, () => {
    reloader.stop();
    stopHup();
  });
  return 0;
}
