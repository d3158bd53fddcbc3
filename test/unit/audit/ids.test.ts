import { describe, expect, it } from 'vitest';
import { uuidv7 } from '../../../src/audit/ids.js';

const UUIDV7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The 48-bit millisecond timestamp an id carries (RFC 9562 §5.7). */
function msOf(id: string): number {
  return Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16);
}

describe('uuidv7', () => {
  it('carries version 7, the RFC variant and the given millisecond', () => {
    for (const ms of [0, 1, 1_763_900_000_123, 2 ** 48 - 1]) {
      const id = uuidv7(ms);
      expect(id).toMatch(UUIDV7);
      expect(msOf(id)).toBe(ms);
    }
  });

  it('gives distinct ids across refills of the random pool, sorted by time', () => {
    const ids: string[] = [];
    // 10,000 ids: more than two fills of the 4,096-id pool.
    for (let i = 0; i < 10_000; i++) ids.push(uuidv7(1_763_900_000_000 + Math.floor(i / 7)));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(UUIDV7);
    const byTime = ids.map(msOf);
    expect(byTime).toEqual([...byTime].sort((a, b) => a - b));
  });

  it('uses every variant digit and random digits in every random position', () => {
    const variants = new Set<string>();
    const seen = Array.from({ length: 36 }, () => new Set<string>());
    for (let i = 0; i < 2000; i++) {
      const id = uuidv7(42);
      variants.add(id[19] ?? '');
      for (let p = 0; p < 36; p++) seen[p]?.add(id[p] ?? '');
    }
    expect([...variants].sort()).toEqual(['8', '9', 'a', 'b']);
    // Random hex positions (after the version digit, outside the variant digit) take all 16.
    for (const p of [15, 16, 17, 20, 21, 22, 24, 30, 35]) expect(seen[p]?.size).toBe(16);
  });

  it('refuses a timestamp beyond 48 bits as before', () => {
    expect(() => uuidv7(2 ** 48)).toThrow(RangeError);
    expect(() => uuidv7(-1)).toThrow(RangeError);
  });
});
