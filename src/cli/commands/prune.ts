/**
 * `portwarden prune --before TIME` — retention that keeps evidence: record bodies before TIME
 * are removed, their leaf hashes stay, so `verify` still proves everything that remains.
 * The prune is itself recorded and checkpointed. Run it while the gateway is stopped (one
 * writer per data dir keeps sequences gapless).
 */
import { Command } from 'commander';
import { formatTimestampNs } from '../../audit/clock.js';
import { readNodeKey } from '../../audit/store-log.js';
import { dataDirFromOptions, runCommand } from '../io.js';
import { openLocalLog } from '../local-log.js';
import { parseTimeArg } from '../time.js';

export function pruneCommand(): Command {
  return new Command('prune')
    .description(
      'remove record bodies older than a time, keeping their leaf hashes (verify still passes)',
    )
    .requiredOption('--before <time>', 'RFC 3339 or relative (90d)')
    .addHelpText(
      'after',
      '\nExamples:\n  portwarden prune --before 90d\n  portwarden prune --before 2026-01-01T00:00:00Z\n',
    )
    .action((flags: { before: string }, command: Command) =>
      runCommand(() => {
        const dataDir = dataDirFromOptions(command);
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
      }),
    );
}
