/** `portwarden prune` when it runs (prune.ts defines the command; this opens the log). */
import type { Command } from 'commander';
import { formatTimestampNs } from '../../audit/clock.js';
import { readNodeKey } from '../../audit/store-log.js';
import { dataDirFromOptions } from '../data-dir.js';
import { openLocalLog } from '../local-log.js';
import { parseTimeArg } from '../time.js';

export async function runPrune(
  flags: { readonly before: string },
  command: Command,
): Promise<number> {
  const dataDir = await dataDirFromOptions(command);
  const before = parseTimeArg(flags.before);
  const key = readNodeKey(dataDir);
  const log = openLocalLog(dataDir, key.name, { whenGatewayRuns: 'stop it before pruning' });
  let range: { from: number; to: number; count: number } | null;
  try {
    // Everything about to lose its body is first covered by a signed checkpoint.
    log.checkpointer.checkpointNow();
    range = log.store.pruneBodies(before);
    log.recorder.append({
      event: {
        action: 'prune',
        category: ['configuration'],
        type: ['deletion'],
        outcome: 'success',
      },
      prune: {
        before: formatTimestampNs(before),
        ...(range
          ? { from_sequence: range.from, to_sequence: range.to, records: range.count }
          : { records: 0 }),
      },
    });
  } finally {
    log.close();
  }
  process.stdout.write(
    range
      ? `pruned the bodies of ${range.count} records (sequences ${range.from}..${range.to}); leaf hashes kept\n`
      : 'nothing to prune\n',
  );
  return 0;
}
