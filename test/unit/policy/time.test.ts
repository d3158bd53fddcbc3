// Time windows are wall-clock in their zone (DST included); dates are whole local days.
import fc from 'fast-check';
import { DateTime } from 'luxon';
import { describe, expect, test } from 'vitest';
import { parseTimeWindow, inWindow, type ZoneClock } from '../../../src/policy/time-window.js';
import { conn, policyOf } from '../../helpers/policy-facts.js';

const MINUTE = 60_000;

function timePolicy(time: string) {
  return policyOf(`
- id: window
  allow: { time: ${time} }
`);
}

/** UTC minutes of [fromIso, fromIso + minutes) at which the policy allows. */
function allowedMinutes(time: string, fromIso: string, minutes: number): string[] {
  const policy = timePolicy(time);
  const start = Date.parse(fromIso);
  const out: string[] = [];
  for (let i = 0; i < minutes; i++) {
    const at = new Date(start + i * MINUTE);
    if (policy.decideConnection(conn(), at).verdict === 'allow')
      out.push(at.toISOString().slice(0, 16));
  }
  return out;
}

/** Collapse consecutive minutes into "first..last" ranges for readable expectations. */
function ranges(minutes: string[]): string[] {
  const out: string[] = [];
  let first: string | undefined;
  let prev = Number.NaN;
  let prevText = '';
  for (const m of minutes) {
    const t = Date.parse(`${m}Z`);
    if (t !== prev + MINUTE) {
      if (first !== undefined) out.push(`${first}..${prevText}`);
      first = m;
    }
    prev = t;
    prevText = m;
  }
  if (first !== undefined) out.push(`${first}..${prevText}`);
  return out;
}

describe('Europe/Berlin DST', () => {
  // 2026-03-29 (Sunday): 02:00 CET jumps to 03:00 CEST at 01:00 UTC.
  test('spring forward: 02:00-03:00 local never happens', () => {
    expect(
      allowedMinutes('"Sun 02:00-03:00 Europe/Berlin"', '2026-03-28T20:00:00Z', 12 * 60),
    ).toEqual([]);
  });
  test('spring forward: 01:00-04:00 local lasts two real hours', () => {
    expect(
      ranges(allowedMinutes('"Sun 01:00-04:00 Europe/Berlin"', '2026-03-28T20:00:00Z', 12 * 60)),
    ).toEqual(['2026-03-29T00:00..2026-03-29T01:59']);
  });
  // 2026-10-25 (Sunday): 03:00 CEST falls back to 02:00 CET at 01:00 UTC.
  test('fall back: 02:00-03:00 local happens twice, both hours match', () => {
    expect(
      ranges(allowedMinutes('"Sun 02:00-03:00 Europe/Berlin"', '2026-10-24T20:00:00Z', 12 * 60)),
    ).toEqual(['2026-10-25T00:00..2026-10-25T01:59']);
  });
  test('office hours move in UTC across the change, not in local time', () => {
    const hours = '"Mon-Fri 08:00-18:00 Europe/Berlin"';
    // Friday before (CET, UTC+1) and Monday after (CEST, UTC+2) the spring change.
    expect(ranges(allowedMinutes(hours, '2026-03-27T00:00:00Z', 4 * 24 * 60))).toEqual([
      '2026-03-27T07:00..2026-03-27T16:59',
      '2026-03-30T06:00..2026-03-30T15:59',
    ]);
  });
});

describe('window grammar', () => {
  test('Sat,Sun 00:00-24:00 UTC covers whole weekend days', () => {
    expect(
      ranges(allowedMinutes('"Sat,Sun 00:00-24:00 UTC"', '2026-11-20T00:00:00Z', 4 * 24 * 60)),
    ).toEqual(['2026-11-21T00:00..2026-11-22T23:59']);
  });
  test('an overnight window belongs to its start day and runs past midnight', () => {
    // Fri 22:00 – Sat 06:00 New York (EST, UTC-5) only; Saturday night is not a start day.
    expect(
      ranges(
        allowedMinutes('"Fri 22:00-06:00 America/New_York"', '2026-11-20T00:00:00Z', 4 * 24 * 60),
      ),
    ).toEqual(['2026-11-21T03:00..2026-11-21T10:59']);
  });
  test('a week range may wrap: Fri-Mon', () => {
    const days = allowedMinutes('"Fri-Mon 12:00-12:01 UTC"', '2026-11-16T00:00:00Z', 7 * 24 * 60);
    expect(days).toEqual([
      '2026-11-16T12:00',
      '2026-11-20T12:00',
      '2026-11-21T12:00',
      '2026-11-22T12:00',
    ]);
  });
  test('a list of windows is OR-ed', () => {
    const days = allowedMinutes(
      '["Mon 09:00-09:01 UTC", "Wed 10:00-10:01 Asia/Kolkata"]',
      '2026-11-16T00:00:00Z',
      3 * 24 * 60,
    );
    expect(days).toEqual(['2026-11-16T09:00', '2026-11-18T04:30']);
  });
});

describe('dates', () => {
  test('from/until are whole local days in the window zone, inclusive', () => {
    const time =
      '{ windows: ["Daily 00:00-24:00 Pacific/Auckland"], dates: { from: 2026-12-01, until: 2026-12-02 } }';
    // Auckland is UTC+13 in December: local 12-01 00:00 = 11-30 11:00 UTC.
    expect(ranges(allowedMinutes(time, '2026-11-30T00:00:00Z', 4 * 24 * 60))).toEqual([
      '2026-11-30T11:00..2026-12-02T10:59',
    ]);
  });
  test('dates alone use their zone (default UTC); open ends are allowed', () => {
    expect(
      ranges(allowedMinutes('{ dates: { until: 2026-12-01 } }', '2026-12-01T23:58:00Z', 4)),
    ).toEqual(['2026-12-01T23:58..2026-12-01T23:59']);
    expect(
      ranges(
        allowedMinutes(
          '{ dates: { from: 2026-12-02 }, zone: Europe/Berlin }',
          '2026-12-01T22:58:00Z',
          4,
        ),
      ),
    ).toEqual(['2026-12-01T23:00..2026-12-01T23:01']);
  });
});

describe('the cached zone clock agrees with luxon DateTime', () => {
  const zones = [
    'Europe/Berlin',
    'America/New_York',
    'Australia/Lord_Howe',
    'Asia/Kathmandu',
    'UTC',
    'Pacific/Chatham',
  ];
  test('for random instants 1990-2060 in zones with odd offsets and DST', () => {
    const clocks = new Map<string, ZoneClock>();
    fc.assert(
      fc.property(
        fc.integer({ min: Date.UTC(1990, 0, 1), max: Date.UTC(2060, 0, 1) }),
        fc.constantFrom(...zones),
        fc.integer({ min: 0, max: 6 }),
        (ms, zone, weekday) => {
          const days = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];
          const local = DateTime.fromMillis(ms, { zone });
          const start = local.hour * 60 + local.minute;
          const hh = (m: number) =>
            `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
          // A one-minute window at the local minute of `ms`, on `weekday`.
          const w = parseTimeWindow(
            `${days[weekday] ?? 'Mon'} ${hh(start)}-${hh(start + 1)} ${zone}`,
            clocks,
          );
          if (typeof w === 'string') throw new Error(w);
          expect(inWindow(w, ms)).toBe(local.weekday === weekday + 1);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
