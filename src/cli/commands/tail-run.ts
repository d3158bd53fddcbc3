/** `portwarden tail` when it runs (tail.ts defines the command; this loads the store). */
import type { Command } from 'commander';
import { dataDirFromOptions, openStoreForReading } from '../data-dir.js';
import { toFilter } from '../filter-options.js';
import { rowWriter } from '../format.js';
import type { TailFlags } from './tail.js';

export async function runTail(flags: TailFlags, command: Command): Promise<number> {
  const store = openStoreForReading(await dataDirFromOptions(command));
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
}
