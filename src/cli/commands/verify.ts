/** `portwarden verify` — recompute every leaf and root, check every signature. */
import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { readNodeKey } from '../../audit/store-log.js';
import { defaultVerifyThreads, verifyLogParallel } from '../../audit/integrity.js';
import { dataDirFromOptions, openStoreForReading, runCommand, usage } from '../io.js';
import { verifyBundleFile } from './proof.js';

interface VerifyFlags {
  readonly bundle?: string;
  readonly fromCheckpoint?: string;
  readonly key?: string[];
  readonly json?: boolean;
  readonly threads?: string;
}

export function verifyCommand(): Command {
  return new Command('verify')
    .description('check the whole log (or an exported bundle) and name the first bad record')
    .option('--bundle <file>', 'verify an exported proof bundle offline, with no data dir')
    .option(
      '--from-checkpoint <n>',
      'trust checkpoint number n (0 = oldest) and verify only what came after it',
    )
    .option(
      '--key <verifier...>',
      'verifier key(s) to trust (default: the node key of the data dir)',
    )
    .option('--json', 'print the result as JSON')
    .option(
      '--threads <n>',
      'worker threads reading and hashing the log in parallel (embedded store; 1 = one thread)',
      String(defaultVerifyThreads()),
    )
    .addHelpText(
      'after',
      `
Examples:
  portwarden verify
  portwarden verify --from-checkpoint 12
  portwarden verify --threads 4
  portwarden verify --bundle bundle.json --key 'gw-1+1a2b3c4d+AfA…'

Exit codes: 0 intact, 1 tampered (the first affected sequence is named), 2 error.
`,
    )
    .action((flags: VerifyFlags, command: Command) =>
      runCommand(async () => {
        if (flags.bundle)
          return verifyBundleFile(flags.bundle, flags.key ?? [], flags.json ?? false);
        const dataDir = dataDirFromOptions(command);
        const key = readNodeKey(dataDir);
        const store = openStoreForReading(dataDir);
        const from = flags.fromCheckpoint === undefined ? undefined : Number(flags.fromCheckpoint);
        if (from !== undefined && (!Number.isInteger(from) || from < 0))
          throw usage('--from-checkpoint takes a checkpoint number from 0');
        const threads = Number(flags.threads ?? defaultVerifyThreads());
        if (!Number.isInteger(threads) || threads < 1 || threads > 64)
          throw usage('--threads takes a number from 1 to 64');
        const bar = process.stderr.isTTY
          ? new cliProgress.SingleBar(
              { format: 'verify [{bar}] {percentage}% {value}/{total} records' },
              cliProgress.Presets.shades_classic,
            )
          : null;
        try {
          bar?.start(store.nextSequence(), 0);
          const result = await verifyLogParallel(store, {
            threads,
            verifierKeys: [...(flags.key ?? []), key.verifierKey],
            origin: key.name,
            ...(from !== undefined ? { fromCheckpoint: from } : {}),
            onProgress: (done) => bar?.update(done),
          });
          bar?.stop();
          if (flags.json) process.stdout.write(JSON.stringify(result) + '\n');
          if (!result.ok) {
            if (!flags.json)
              process.stdout.write(
                `TAMPERED: ${result.kind} at sequence ${result.sequence}: ${result.detail}\n`,
              );
            return 1;
          }
          if (!flags.json) {
            const pruned = result.pruned
              ? `; bodies pruned for ${result.pruned.from}..${result.pruned.to} (leaf hashes kept and verified)`
              : '';
            process.stdout.write(
              `ok: ${result.size} records and ${result.checkpoints} signed checkpoints verified${pruned}\n`,
            );
          }
          return 0;
        } finally {
          store.close();
        }
      }),
    );
}
