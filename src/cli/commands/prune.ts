/**
 * `portwarden prune --before TIME` — retention that keeps evidence: record bodies before TIME
 * are removed, their leaf hashes stay, so `verify` still proves everything that remains.
 * The prune is itself recorded and checkpointed. Run it while the gateway is stopped (one
 * writer per data dir keeps sequences gapless).
 */
import { join } from 'node:path';
import { Command } from 'commander';
import { Checkpointer } from '../../audit/checkpointer.js';
import { formatTimestampNs } from '../../audit/clock.js';
import { Recorder } from '../../audit/recorder.js';
import { readNodeKey } from '../../audit/store-log.js';
import { PortwardenError } from '../../errors.js';
import { gatewayRunning } from '../../gateway/index.js';
import { SqliteStore } from '../../store/index.js';
import { dataDirFromOptions, runCommand } from '../io.js';
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
        const pid = gatewayRunning(dataDir);
        if (pid !== null)
          throw new PortwardenError('PW_ERR_USAGE', {
            detail: `a gateway (pid ${pid}) writes ${dataDir}; stop it before pruning`,
          });
        const before = parseTimeArg(flags.before);
        const key = readNodeKey(dataDir);
        const store = new SqliteStore(join(dataDir, 'portwarden.db'));
        try {
          const checkpointer = new Checkpointer(store, key, key.name, dataDir);
          const recorder = new Recorder(store, {
            mode: 'strict',
            flushMs: 10,
            observer: key.name,
            onLeaf: checkpointer.onLeaf,
            onRollback: checkpointer.onRollback,
          });
          // Attach the recorder (no timer: this process makes its checkpoints itself).
          checkpointer.start(recorder, 3_600_000);
          checkpointer.stop();
          // Everything about to lose its body is first covered by a signed checkpoint.
          checkpointer.checkpointNow();
          const range = store.pruneBodies(before);
          recorder.append({
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
          checkpointer.checkpointNow();
          recorder.close();
          process.stdout.write(
            range
              ? `pruned the bodies of ${range.count} records (sequences ${range.from}..${range.to}); leaf hashes kept\n`
              : 'nothing to prune\n',
          );
          return 0;
        } finally {
          store.close();
        }
      }),
    );
}
