/** `portwarden verify` — recompute every leaf and root, check every signature. */
import { Command } from 'commander';
import { defaultVerifyThreads } from '../command-defaults.js';
import { runCommand } from '../io.js';

export interface VerifyFlags {
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
      runCommand(async () => (await import('./verify-run.js')).runVerify(flags, command)),
    );
}
