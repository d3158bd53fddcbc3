/**
 * The live tail's filter (matchesFilter) gives the store's answers: every case of the
 * store conformance suite, evaluated in memory against the rows as committed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { matchesFilter } from '../../src/api/index.js';
import type { EventRow } from '../../src/store/index.js';
import { CASES } from '../unit/store/cases.js';
import { buildDataset, type Dataset } from '../unit/store/dataset.js';

let ds: Dataset;
let rows: EventRow[];
beforeAll(() => {
  ds = buildDataset();
  rows = [...ds.store.iterate(0)];
});
afterAll(() => ds.store.close());

describe('live tail filter', () => {
  for (const [name, filter, expected] of CASES) {
    it(`${name}: the same records as a search`, () => {
      expect(rows.filter((r) => matchesFilter(filter, r)).map((r) => r.sequence)).toEqual(expected);
    });
  }

  it('text ignores accents and case, as the store does', () => {
    const row = rows[2];
    if (row === undefined) throw new Error('data set too short');
    const accented = { ...row, text: 'SELECT * FROM Ördérs' };
    expect(matchesFilter({ text: 'orders' }, accented)).toBe(true);
    expect(ds.store.count({ text: 'ÖRDERS' })).toBe(4);
    expect(matchesFilter({ text: 'ÖRDERS' }, row)).toBe(true);
  });
});
