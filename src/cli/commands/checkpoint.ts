/** `portwarden checkpoint` — print or export the newest signed checkpoint, or the public key. */
import { Command } from 'commander';
import { runCommand } from '../io.js';

export interface CheckpointFlags {
  readonly publicKey?: boolean;
  readonly export?: string;
}

export function checkpointCommand(): Command {
  return new Command('checkpoint')
    .description(
      'print the newest signed checkpoint (C2SP signed note), export it, or print the verifier key',
    )
    .option(
      '--public-key',
      'print the verifier key (name+keyid+base64) to give auditors and witnesses',
    )
    .option(
      '--export <dir>',
      'write checkpoint.txt (newest) and verifier.key into DIR for an external witness',
    )
    .addHelpText(
      'after',
      `
Examples:
  portwarden checkpoint
  portwarden checkpoint --public-key > gw-1.pub
  portwarden checkpoint --export /mnt/witness/gw-1
`,
    )
    .action((flags: CheckpointFlags, command: Command) =>
      runCommand(async () => (await import('./checkpoint-run.js')).runCheckpoint(flags, command)),
    );
}
