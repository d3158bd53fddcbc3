/** `portwarden checkpoint` — print or export the newest signed checkpoint, or the public key. */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { readNodeKey } from '../../audit/store-log.js';
import { PortwardenError } from '../../errors.js';
import { dataDirFromOptions, openStoreForReading, runCommand } from '../io.js';

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
    .action((flags: { publicKey?: boolean; export?: string }, command: Command) =>
      runCommand(() => {
        const dataDir = dataDirFromOptions(command);
        const key = readNodeKey(dataDir);
        if (flags.publicKey) {
          process.stdout.write(`${key.verifierKey}\n`);
          return 0;
        }
        const store = openStoreForReading(dataDir);
        try {
          const latest = store.latestCheckpoint();
          if (!latest)
            throw new PortwardenError('PW_ERR_NOT_FOUND', {
              what: 'signed checkpoint (none made yet)',
            });
          if (flags.export) {
            const dir = resolve(flags.export);
            mkdirSync(dir, { recursive: true });
            writeFileSync(join(dir, 'checkpoint.txt'), latest.note);
            writeFileSync(join(dir, 'verifier.key'), `${key.verifierKey}\n`);
            copyFileSync(join(dataDir, 'checkpoints.log'), join(dir, 'checkpoints.log'));
            process.stdout.write(`exported checkpoint of ${latest.size} records to ${dir}\n`);
            return 0;
          }
          process.stdout.write(latest.note);
          return 0;
        } finally {
          store.close();
        }
      }),
    );
}
