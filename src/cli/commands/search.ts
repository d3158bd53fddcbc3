/** `portwarden search` — query records with the shared filters; keyset pages. */
import { Command, Option } from 'commander';
import type { GroupKey } from '../../store/index.js';
import { addFilterOptions, toFilter, type FilterFlags } from '../filter-options.js';
import { FORMATS, formatRows, type Format } from '../format.js';
import { dataDirFromOptions, openStoreForReading, runCommand } from '../io.js';

interface SearchFlags extends FilterFlags {
  readonly format: Format;
  readonly count?: boolean;
  readonly groupBy?: GroupKey;
}

export function searchCommand(): Command {
  const cmd = new Command('search').description('query the audit record');
  addFilterOptions(cmd)
    .option('--limit <n>', 'at most this many records (default 100, max 10000)')
    .addOption(
      new Option('--order <order>', 'newest first or oldest first')
        .choices(['newest', 'oldest'])
        .default('newest'),
    )
    .option('--after <seq>', 'keyset cursor: continue after this sequence (printed as "next:")')
    .addOption(
      new Option('--format <format>', 'output format').choices([...FORMATS]).default('table'),
    )
    .option('--count', 'print only the number of matching records')
    .addOption(
      new Option('--group-by <key>', 'count per key').choices([
        'listener',
        'user',
        'source',
        'action',
        'hour',
        'outcome',
      ]),
    )
    .addHelpText(
      'after',
      `
Examples:
  portwarden search --since 15m
  portwarden search --source 10.1.2.3:51234 --format ndjson
  portwarden search --port 5432 --action db-query --text "delete from"
  portwarden search --connection c-0193… --order oldest
  portwarden search --since 7d --group-by listener
`,
    )
    .action((flags: SearchFlags, command: Command) =>
      runCommand(() => {
        const store = openStoreForReading(dataDirFromOptions(command));
        try {
          const filter = toFilter(flags);
          if (flags.count) {
            process.stdout.write(`${store.count(filter)}\n`);
            return 0;
          }
          if (flags.groupBy) {
            for (const g of store.groupBy(filter, flags.groupBy))
              process.stdout.write(`${g.key}\t${g.count}\n`);
            return 0;
          }
          const page = store.search(filter);
          process.stdout.write(formatRows(page.rows, flags.format, true));
          if (page.next !== null && flags.format === 'table')
            process.stderr.write(`next: --after ${page.next}\n`);
          return 0;
        } finally {
          store.close();
        }
      }),
    );
  return cmd;
}
