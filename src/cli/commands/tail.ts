/** `portwarden tail` — the search filters, live: prints records as they are committed. */
import { Command, Option } from 'commander';
import { addFilterOptions, toFilter, type FilterFlags } from '../filter-options.js';
import { FORMATS, rowWriter, type Format } from '../format.js';
import { dataDirFromOptions, openStoreForReading, runCommand } from '../io.js';

interface TailFlags extends FilterFlags {
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
      runCommand(async () => {
        const store = openStoreForReading(dataDirFromOptions(command));
        const base = toFilter(flags);
        let last = store.nextSequence() - 1;
        const out = rowWriter(flags.format, store, { live: true });
        process.stdout.write(out.header());
        let stop = false;
        const onSignal = (): void => {
          stop = true;
        };
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const interval = Math.max(20, Number(flags.interval) || 250);
        while (!stop) {
          const page = store.search({ ...base, order: 'oldest', after: last, limit: 1000 });
          if (page.rows.length > 0) process.stdout.write(out.rows(page.rows));
          const tip = store.nextSequence() - 1;
          last = page.rows.at(-1)?.sequence ?? (page.next === null ? tip : last);
          if (page.next === null) await new Promise((r) => setTimeout(r, interval));
        }
        store.close();
        return 0;
      }),
    );
  return cmd;
}
