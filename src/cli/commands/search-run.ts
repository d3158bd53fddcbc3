/** `portwarden search` when it runs (search.ts defines the command; this loads the store). */
import type { Command } from 'commander';
import { type Summary, summarize } from '../../store/index.js';
import { dataDirFromOptions, openStoreForReading } from '../data-dir.js';
import { toFilter } from '../filter-options.js';
import { rowWriter } from '../format.js';
import { parseTimeArg } from '../time.js';
import type { SearchFlags } from './search.js';

export async function runSearch(flags: SearchFlags, command: Command): Promise<number> {
  const store = openStoreForReading(await dataDirFromOptions(command));
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
      process.stdout.write(flags.format === 'table' ? summaryText(s) : `${JSON.stringify(s)}\n`);
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
    if (page.next !== null && !flags.all) process.stderr.write(`next: --after ${page.next}\n`);
    return 0;
  } finally {
    store.close();
  }
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
