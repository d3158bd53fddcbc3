/**
 * `portwarden proof SEQ --out FILE` — export one record with its inclusion proof, a signed
 * checkpoint that covers it and the verifier key; `--consistency SIZE1 SIZE2` proves that
 * one checkpoint extends another. Both verify offline: `portwarden verify --bundle FILE`.
 */
import { Command } from 'commander';
import { runCommand } from '../io.js';

export interface ProofFlags {
  readonly consistency?: string[];
  readonly out?: string;
}

export function proofCommand(): Command {
  return new Command('proof')
    .description(
      'export a record with its inclusion proof (or a consistency proof), verifiable offline',
    )
    .argument('[sequence]', 'the record (event.sequence)')
    .option('--consistency <sizes...>', 'prove that checkpoint SIZE2 extends checkpoint SIZE1')
    .option('--out <file>', 'write the bundle here (default: stdout)')
    .addHelpText(
      'after',
      `
Examples:
  portwarden proof 4211 --out bundle.json
  portwarden verify --bundle bundle.json
  portwarden proof --consistency 1000 2000 --out consistency.json
`,
    )
    .action((sequence: string | undefined, flags: ProofFlags, command: Command) =>
      runCommand(async () => (await import('./proof-run.js')).runProof(sequence, flags, command)),
    );
}
