/** `portwarden tail` — the search filters, live: prints records as they are committed. */
import { Command, Option } from 'commander';
import { addFilterOptions, type FilterFlags } from '../filter-options.js';
import { FORMATS, type Format } from '../format.js';
import { runCommand } from '../io.js';

export interface TailFlags extends FilterFlags {
  readonly format: Format;
  readonly interval: string;
}

export function tailCommand(): Command {
  const cmd = new Command('tail').description('follow the audit record live');
  addFilterOptions(cmd)
    .addOption(
      new Option('--format <format>', 'output format').choices([...FORMATS]).default('table'),
    )
    .option('--interval <ms>', 'poll interval in milliseconds', '250')
    .addHelpText(
      'after',
      `
Examples:
  portwarden tail
  portwarden tail --listener orders-db --action db-query --format ndjson
  portwarden tail --outcome failure
  portwarden tail --format zeek            # one conn.log line as each connection ends
  portwarden tail --format ocsf --class ddl
`,
    )
    .action((flags: TailFlags, command: Command) =>
      runCommand(async () => (await import('./tail-run.js')).runTail(flags, command)),
    );
  return cmd;
}
