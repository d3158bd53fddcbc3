/** `portwarden collect` — consume every node's records from JetStream into PostgreSQL. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { COLLECTOR_DEFAULTS, SHIP_DEFAULTS } from '../command-defaults.js';
import { runCommand } from '../io.js';

export interface CollectFlags {
  readonly nats: string[];
  readonly store: string;
  readonly key?: string[];
  readonly keysFile?: string;
  readonly stream: string;
  readonly subjectPrefix: string;
  readonly durable: string;
  readonly ackWait: string;
  readonly batch: string;
  readonly name?: string;
  readonly tokenEnv?: string;
}

/** Verifier keys from --key and --keys-file (one per line; `#` starts a comment). */
export function collectKeys(
  keys: readonly string[] | undefined,
  file: string | undefined,
): string[] {
  const out = [...(keys ?? [])];
  if (file !== undefined) {
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      const k = line.replace(/#.*/, '').trim();
      if (k !== '') out.push(k);
    }
  }
  return out;
}

export function collectCommand(): Command {
  return new Command('collect')
    .description('consume node records from NATS JetStream, verify each chain, write PostgreSQL')
    .requiredOption('--nats <url...>', 'NATS server URL(s)')
    .requiredOption('--store <url>', 'central store: postgres://user@host/db')
    .option('--key <verifier...>', "a node's verifier key (name+id+base64); the name is the node")
    .option('--keys-file <file>', 'verifier keys, one per line')
    .option('--stream <name>', 'JetStream stream', SHIP_DEFAULTS.stream)
    .option('--subject-prefix <prefix>', 'subject prefix', SHIP_DEFAULTS.subjectPrefix)
    .option('--durable <name>', 'durable consumer shared by instances', COLLECTOR_DEFAULTS.durable)
    .option('--ack-wait <duration>', 'redelivery delay of unacknowledged messages', '30s')
    .option('--batch <n>', 'messages per transaction', String(COLLECTOR_DEFAULTS.batch))
    .option('--name <name>', 'this instance, in findings (default collector@host:pid)')
    .option('--token-env <var>', 'environment variable holding the NATS token')
    .addHelpText(
      'after',
      `
Run as many instances as you like: they share one durable consumer (a work queue).
Every node needs its verifier key ("portwarden checkpoint --public-key" on the node);
records of a node without a key are quarantined.

Examples:
  portwarden collect --nats nats://10.0.0.5:4222 --store postgres://portwarden@db/central \\
    --keys-file /etc/portwarden/node-keys
`,
    )
    .action((flags: CollectFlags) =>
      runCommand(async () => (await import('./collect-run.js')).runCollect(flags)),
    );
}
