/** `portwarden search` — query records with the shared filters; keyset pages. */
import { Command, Option } from 'commander';
import { GROUP_KEYS, type GroupKey, type Summary, summarize } from '../../store/index.js';
import { addFilterOptions, toFilter, type FilterFlags } from '../filter-options.js';
import { FORMATS, rowWriter, type Format } from '../format.js';
import { dataDirFromOptions, openStoreForReading, runCommand } from '../io.js';
import { parseTimeArg } from '../time.js';

interface SearchFlags extends FilterFlags {
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
      runCommand(() => {
        const store = openStoreForReading(dataDirFromOptions(command));
        try {
          const given = toFilter(flags);
          // A connection's story reads oldest first unless asked otherwise.
          const filter =
            given.order === undefined && given.connectionId !== undefined
              ? { ...given, order: 'oldest' as const }
              : given;
          if (flags.count) {
            process.stdout.write(`${store.count(filter)}\n`);
            return 0;
          }
          if (flags.groupBy) {
            for (const g of store.groupBy(filter, flags.groupBy))
              process.stdout.write(`${g.key}\t${g.count}\n`);
            return 0;
          }
          if (flags.summary) {
            const window =
              filter.sinceNs === undefined ? { ...filter, sinceNs: parseTimeArg('24h') } : filter;
            const s = summarize(store, window);
            process.stdout.write(
              flags.format === 'table' ? summaryText(s) : `${JSON.stringify(s)}\n`,
            );
            return 0;
          }
          const out = rowWriter(flags.format, store);
          process.stdout.write(out.header());
          let page = store.search(filter);
          process.stdout.write(out.rows(page.rows));
          while (flags.all && page.next !== null) {
            page = store.search({ ...filter, after: page.next });
            process.stdout.write(out.rows(page.rows));
          }
          process.stdout.write(out.footer());
          if (page.next !== null && !flags.all)
            process.stderr.write(`next: --after ${page.next}\n`);
          return 0;
        } finally {
          store.close();
        }
      }),
    );
  return cmd;
}

function summaryText(s: Summary): string {
  const list = (title: string, items: readonly { key: string; count: number }[]): string =>
    `${title}\n${items.length === 0 ? '  (none)\n' : items.map((i) => `  ${String(i.count).padStart(9)}  ${i.key}\n`).join('')}`;
  return [
    `records      ${s.total}\n`,
    list('top sources', s.topSources),
    list('top users', s.topUsers),
    list('top listeners', s.topListeners),
    `denied / refused  ${s.denied.total}\n`,
    list('  by action', s.denied.byAction),
    list('  by source', s.denied.bySource),
    list('  by rule', s.denied.byRule),
    list(
      'new sources (first seen in the window)',
      s.newSources.map((n) => ({ key: `${n.ip}  (first seq ${n.firstSequence})`, count: n.count })),
    ),
  ].join('');
}
