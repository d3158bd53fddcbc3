/**
 * The collector derives a shipped record's columns from its body alone; they must be the
 * values the gateway's own store indexed for the same record (the same filters find it).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { centralRow, parseBody } from '../../../src/ship/central-row.js';
import { type EventRow, deriveColumns } from '../../../src/store/index.js';
import { buildDataset, type Dataset } from '../store/dataset.js';

/** The columns both stores derive from the body (the rest come from the connection). */
const DERIVED = [
  'upstreamCommunityId',
  'rule',
  'policyVersion',
  'dbNamespace',
  'operation',
  'statementClass',
  'status',
  'text',
] as const;

let ds: Dataset;
let rows: EventRow[];
beforeAll(() => {
  ds = buildDataset();
  rows = [...ds.store.iterate(0)];
});
afterAll(() => ds.store.close());

describe('central row', () => {
  it('derives the columns the embedded store derived, for every record of the data set', () => {
    expect(rows).toHaveLength(25);
    for (const r of rows) {
      const body = r.body ?? '';
      const c = centralRow({
        node: 'node-a',
        sequence: r.sequence,
        timestampNs: 0n,
        body,
        parsed: parseBody(body),
        leafHash: r.leafHash,
      });
      const derived = (x: EventRow | typeof c) => DERIVED.map((k) => [k, x[k]] as const);
      expect(derived(c), `record ${r.sequence}`).toEqual(derived(r));
    }
  });
});

describe('central row of odd bodies', () => {
  it('derives what deriveColumns derives, for values of other types', () => {
    const bodies = [
      { rule: { id: 5 }, policy: { version: true }, db: { namespace: 1.5, operation: 7 } },
      { redis: { command: 'get', reply: { error: { code: false } } }, db: { query: { class: 0 } } },
      {
        db: { operation: null },
        http: { request: { method: 'post' }, response: { status_code: 404 } },
      },
      { upstream: { community_id: ['x'] }, db: { response: { status_code: 'XX000' } } },
    ];
    for (const b of bodies) {
      const c = centralRow({
        node: 'n',
        sequence: 0,
        timestampNs: 0n,
        body: JSON.stringify(b),
        parsed: b,
        leafHash: Buffer.alloc(32),
      });
      const d = deriveColumns(b);
      expect(
        DERIVED.filter((k) => k !== 'text').map((k) => [k, c[k]]),
        JSON.stringify(b),
      ).toEqual(DERIVED.filter((k) => k !== 'text').map((k) => [k, d[k]]));
    }
  });
});
