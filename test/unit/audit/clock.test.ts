import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatTimestampNs, parseTimestampNs } from '../../../src/audit/clock.js';

/** The formatting from first principles: the Date's ISO text to the second, nine digits. */
function reference(ns: bigint): string {
  const iso = new Date(Number(ns / 1_000_000n)).toISOString();
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

describe('formatTimestampNs', () => {
  it('writes RFC 3339 with nine fractional digits', () => {
    expect(formatTimestampNs(1_763_900_000_123_456_789n)).toBe('2025-11-23T12:13:20.123456789Z');
    expect(formatTimestampNs(0n)).toBe('1970-01-01T00:00:00.000000000Z');
    expect(formatTimestampNs(1_000_000_007n)).toBe('1970-01-01T00:00:01.000000007Z');
  });

  it('matches the reference across second boundaries and in any order (the cached second)', () => {
    const second = 1_763_900_000n * 1_000_000_000n;
    for (const ns of [second - 1n, second, second + 1n, second - 1n, second + 999_999_999n])
      expect(formatTimestampNs(ns)).toBe(reference(ns));
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 253_402_300_799_999_999_999n }), (ns) => {
        expect(formatTimestampNs(ns)).toBe(reference(ns));
        expect(parseTimestampNs(formatTimestampNs(ns))).toBe(ns);
      }),
    );
  });

  it('formats times outside years 1970–9999 as before', () => {
    for (const ns of [-1n, -1_500_000_000n, 253_402_300_800n * 1_000_000_000n])
      expect(formatTimestampNs(ns)).toBe(reference(ns));
  });
});
