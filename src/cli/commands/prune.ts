/**
 * `portwarden prune --before TIME` — retention that keeps evidence: record bodies before TIME
 * are removed, their leaf hashes stay, so `verify` still proves everything that remains.
 * The prune is itself recorded and checkpointed. Run it while the gateway is stopped (one
 * writer per data dir keeps sequences gapless).
 */
import { Command } from 'commander';
import { runCommand } from '../io.js';

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
      runCommand(async () => (await import('./prune-run.js')).runPrune(flags, command)),
    );
}
