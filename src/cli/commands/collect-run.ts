/** `portwarden collect` when it runs (collect.ts defines the command; this loads NATS and pg). */
import { parseDurationMs } from '../../config/address.js';
import { createLogger } from '../../log.js';
import {
  COLLECTOR_DEFAULTS,
  CentralStore,
  Collector,
  defaultCollectorName,
} from '../../ship/index.js';
import { usage } from '../io.js';
import { collectKeys, type CollectFlags } from './collect.js';

export async function runCollect(flags: CollectFlags): Promise<number> {
  const ackWaitMs = parseDurationMs(flags.ackWait);
  if (ackWaitMs === null || ackWaitMs < 1000) throw usage('--ack-wait must be 1s or more');
  const batch = Number(flags.batch);
  if (!Number.isInteger(batch) || batch < 1 || batch > 10_000)
    throw usage('--batch must be 1..10000');
  const keys = collectKeys(flags.key, flags.keysFile);
  const log = createLogger();
  const store = await CentralStore.open(flags.store);
  const token = flags.tokenEnv === undefined ? undefined : process.env[flags.tokenEnv];
  const collector = new Collector(
    store,
    {
      servers: flags.nats,
      stream: flags.stream,
      subjectPrefix: flags.subjectPrefix,
      durable: flags.durable,
      keys,
      ackWaitMs,
      batch,
      maxPendingPerNode: COLLECTOR_DEFAULTS.maxPendingPerNode,
      name: flags.name ?? defaultCollectorName(),
      ...(token !== undefined ? { token } : {}),
    },
    log,
  );
  await collector.start();
  log.info({ nats: flags.nats, nodes: keys.length }, 'collecting');
  const report = setInterval(() => log.info(collector.stats, 'collector progress'), 10_000);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  clearInterval(report);
  await collector.stop();
  await store.close();
  log.info(collector.stats, 'collector stopped');
  return 0;
}
