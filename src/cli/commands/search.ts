/** `portwarden search` — query records with the shared filters; keyset pages. */
import { Command, Option } from 'commander';
// store/types.js, not the store index: the index loads SQLite and PostgreSQL at start-up.
import { GROUP_KEYS, type GroupKey } from '../../store/types.js';
import { addFilterOptions, type FilterFlags } from '../filter-options.js';
import { FORMATS, type Format } from '../format.js';
import { runCommand } from '../io.js';

export interface SearchFlags extends FilterFlags {
  readonly format: Format;
  readonly count?: boolean;
  readonly groupBy?: GroupKey;
  readonly summary?: boolean;
  readonly all?: boolean;
}

export function searchCommand(): Command {
  const cmd = new Command('search').description('query the audit record');
  addFilterOptions(cmd)
    .option('--limit <n>', 'at most this many records per page (default 100, max 10000)')
    .addOption(
      new Option(
        '--order <order>',
        'newest first (default) or oldest first (default with --connection)',
      ).choices(['newest', 'oldest']),
    )
    .option('--after <seq>', 'keyset cursor: continue after this sequence (printed as "next:")')
    .option('--all', 'every matching record, page after page (for exports)')
    .addOption(
      new Option('--format <format>', 'output format').choices([...FORMATS]).default('table'),
    )
    .option('--count', 'print only the number of matching records')
    .addOption(new Option('--group-by <key>', 'count per key').choices([...GROUP_KEYS]))
    .option(
      '--summary',
      'top talkers, denied counts and new sources in the window (default --since 24h)',
    )
    .addHelpText(
      'after',
      `
Examples:
  portwarden search --since 15m
  portwarden search --source 10.1.2.3:51234 --format ndjson
  portwarden search --port 5432 --action db-query --text "delete from"
  portwarden search --text "pg_sleep*" --class read
  portwarden search --connection c-0193…          # its whole story, oldest first
  portwarden search --community-id "1:LQU9qZlK+B5F3KDmev6m5PMibrg="
  portwarden search --status 42501 --db orders
  portwarden search --since 30d --group-by hour
  portwarden search --since 1h --summary
  portwarden search --since 1d --all --format zeek > conn.log
  portwarden search --since 1d --all --format ocsf > ocsf.ndjson
`,
    )
    .action((flags: SearchFlags, command: Command) =>
      runCommand(async () => (await import('./search-run.js')).runSearch(flags, command)),
    );
  return cmd;
}
