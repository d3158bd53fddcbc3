/** `portwarden checkpoint` when it runs (checkpoint.ts defines the command). */
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { readNodeKey } from '../../audit/store-log.js';
import { PortwardenError } from '../../errors.js';
import { dataDirFromOptions, openStoreForReading } from '../data-dir.js';
import type { CheckpointFlags } from './checkpoint.js';

export async function runCheckpoint(flags: CheckpointFlags, command: Command): Promise<number> {
  const dataDir = await dataDirFromOptions(command);
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
}
