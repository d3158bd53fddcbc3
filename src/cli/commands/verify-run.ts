/**
 * `portwarden verify` when it runs (verify.ts defines the command; this loads the log code).
 * `--bundle` (proof-run.ts, whose bundle schema loads zod) and the progress bar (only on a
 * terminal) load when they are used.
 */
import type { SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { readNodeKey } from '../../audit/store-log.js';
// verify-parallel.js, not the audit/integrity index: the index also loads the bundle code.
import { defaultVerifyThreads, verifyLogParallel } from '../../audit/verify-parallel.js';
import { dataDirFromOptions, openStoreForReading } from '../data-dir.js';
import { usage } from '../io.js';
import type { VerifyFlags } from './verify.js';

/** A progress bar on a terminal; none when stderr is a pipe or a file (scripts). */
async function progressBar(): Promise<SingleBar | null> {
  if (!process.stderr.isTTY) return null;
  const { default: cliProgress } = await import('cli-progress');
  return new cliProgress.SingleBar(
    { format: 'verify [{bar}] {percentage}% {value}/{total} records' },
    cliProgress.Presets.shades_classic,
  );
}

export async function runVerify(flags: VerifyFlags, command: Command): Promise<number> {
  if (flags.bundle) {
    const { verifyBundleFile } = await import('./proof-run.js');
    return verifyBundleFile(flags.bundle, flags.key ?? [], flags.json ?? false);
  }
  const dataDir = await dataDirFromOptions(command);
  const key = readNodeKey(dataDir);
  const store = openStoreForReading(dataDir);
  const from = flags.fromCheckpoint === undefined ? undefined : Number(flags.fromCheckpoint);
  if (from !== undefined && (!Number.isInteger(from) || from < 0))
    throw usage('--from-checkpoint takes a checkpoint number from 0');
  const threads = Number(flags.threads ?? defaultVerifyThreads());
  if (!Number.isInteger(threads) || threads < 1 || threads > 64)
    throw usage('--threads takes a number from 1 to 64');
  const bar = await progressBar();
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
}
