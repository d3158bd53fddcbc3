/**
 * One more `orders` statement after the generated data set (dataset.ts), and what every
 * store must answer at once: the conformance suite runs it on each backend, search.test.ts
 * with the embedded store's FTS index already built, so that a page spans index and tail.
 */
import { expect } from 'vitest';
import { Recorder } from '../../../src/audit/recorder.js';
import type { Store } from '../../../src/store/index.js';
import { C6, context, type Dataset } from './dataset.js';

export function expectNewestTextFoundAtOnce(d: Dataset<Store>): void {
  const rec = new Recorder(d.store, { mode: 'async', flushMs: 1000, observer: 'node-a' });
  rec.append(
    {
      event: { action: 'db-query', category: ['database'], type: ['access'] },
      db: { query: { text: 'SELECT 1 FROM orders' } },
    },
    context(C6),
  );
  expect(rec.flush()).toBe(true);
  const newest = d.store.search({ text: 'orders', limit: 3 });
  expect(newest.rows.map((r) => r.sequence)).toEqual([25, 22, 14]);
  expect(
    d.store
      .search({ text: 'orders', limit: 3, after: newest.next ?? 0 })
      .rows.map((r) => r.sequence),
  ).toEqual([12, 2]);
  expect(
    d.store.search({ text: 'orders', order: 'oldest', after: 20 }).rows.map((r) => r.sequence),
  ).toEqual([22, 25]);
  expect(d.store.count({ text: 'orders' })).toBe(5);
}
