/**
 * Central time windows bound `ts` (the day-partition key) with a timestamptz constant so the
 * planner drops partitions before planning them. The constant must be exactly the `ts` the
 * collector stores for a nanosecond time (`timestamptz 'epoch' + (ts_ns / 1000) µs`), or a
 * window would drop the records of its first or last microsecond.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { timestamptzText } from '../../../src/ship/central-query.js';

let client: pg.Client;

beforeAll(async () => {
  client = new pg.Client({ connectionString: 'postgres://postgres@127.0.0.1:5432/test' });
  await client.connect();
});

afterAll(async () => {
  await client.end();
});

describe('timestamptzText', () => {
  it('is the ts PostgreSQL computes from ts_ns, at every microsecond edge and sign', async () => {
    const samples = [
      0n,
      1n,
      999n,
      1000n,
      1001n,
      -1n,
      -999n,
      -1000n,
      -1500n,
      1_792_455_675_551_123_456n,
      1_792_455_675_999_999_999n,
      1_792_454_400_000_000_000n, // a day boundary (a partition bound)
      1_792_454_399_999_999_999n,
      // PostgreSQL multiplies the interval in float8: exact up to 2^53 µs (the year 2255).
      9_007_199_254_740_991_000n,
      -9_007_199_254_740_991_000n,
    ];
    const r = await client.query<{ same: boolean[] }>(
      `SELECT array_agg((timestamptz 'epoch' + (n / 1000) * interval '1 microsecond') = t::timestamptz
                        ORDER BY i) AS same
       FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS u(n, t, i)`,
      [samples.map(String), samples.map(timestamptzText)],
    );
    expect(r.rows[0]?.same).toEqual(samples.map(() => true));
  });

  it('clamps a time outside int8 to its edge instead of throwing', () => {
    expect(timestamptzText(10n ** 30n)).toBe(timestamptzText(9_223_372_036_854_775_807n));
    expect(timestamptzText(-(10n ** 30n))).toBe(timestamptzText(-9_223_372_036_854_775_808n));
    expect(timestamptzText(1_792_455_675_551_123_456n)).toBe('2026-10-20T00:21:15.551123Z');
  });
});
