/**
 * The `time:` condition: a window, a list of windows, or { windows?, dates?, zone? },
 * validated and normalized (see time-window.ts for the window grammar).
 */
import { z } from 'zod';
import { describe, unknownKeyMessage } from './messages.js';
import { isValidZone, parseCalendarDay, parseTimeWindow, type ZoneClock } from './time-window.js';

/** A throwaway clock cache: validation only needs to know the window parses. */
const scratchClocks = new Map<string, ZoneClock>();

/** A normalized time condition: windows OR-ed, then an optional date range in `zone`. */
export interface RawTime {
  readonly windows: readonly string[];
  readonly from?: string;
  readonly until?: string;
  /** Zone of the dates: given, else the first window's, else UTC. */
  readonly zone: string;
}

const WINDOW_EXAMPLE = 'a window like "Mon-Fri 08:00-18:00 Europe/Berlin"';
const TIME_KEYS = ['windows', 'dates', 'zone'];

/** `time:` is a window, a list of windows, or { windows?, dates?: { from?, until? }, zone? }. */
export const timeCondition = z.unknown().transform((value, ctx): RawTime => {
  const fail = (message: string, path: (string | number)[] = []): void => {
    ctx.addIssue({ code: 'custom', message, path, input: value });
  };
  const windows: string[] = [];
  const addWindow = (item: unknown, path: (string | number)[]): void => {
    if (typeof item !== 'string') {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${WINDOW_EXAMPLE}, got ${describe(item)}`,
        path,
      });
      return;
    }
    const parsed = parseTimeWindow(item, scratchClocks);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: `${parsed} in ${JSON.stringify(item)}`, path });
      return;
    }
    windows.push(item.trim());
  };
  const addWindows = (item: unknown, path: (string | number)[]): void => {
    if (Array.isArray(item)) {
      if (item.length === 0) fail('expected at least one window, got an empty list', path);
      item.forEach((w: unknown, i) => addWindow(w, [...path, i]));
    } else {
      addWindow(item, path);
    }
  };
  if (typeof value === 'string' || Array.isArray(value)) {
    addWindows(value, []);
    return { windows, zone: zoneOfFirst(windows) };
  }
  if (value === null || typeof value !== 'object') {
    fail(`expected ${WINDOW_EXAMPLE}, a list of them, or a map, got ${describe(value)}`);
    return z.NEVER;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!TIME_KEYS.includes(key)) fail(unknownKeyMessage(key, TIME_KEYS), [key]);
  }
  if (record.windows !== undefined) addWindows(record.windows, ['windows']);
  let zone = zoneOfFirst(windows);
  if (record.zone !== undefined) {
    if (typeof record.zone !== 'string' || !isValidZone(record.zone)) {
      fail(`expected IANA time zone like Europe/Berlin, got ${describe(record.zone)}`, ['zone']);
    } else {
      zone = record.zone;
    }
  }
  const out: { windows: string[]; zone: string; from?: string; until?: string } = { windows, zone };
  const dates = record.dates;
  if (dates !== undefined) {
    if (dates === null || typeof dates !== 'object' || Array.isArray(dates)) {
      fail(`expected { from, until } dates, got ${describe(dates)}`, ['dates']);
      return z.NEVER;
    }
    const d = dates as Record<string, unknown>;
    for (const key of Object.keys(d)) {
      if (key !== 'from' && key !== 'until')
        fail(unknownKeyMessage(key, ['from', 'until']), ['dates', key]);
    }
    for (const key of ['from', 'until'] as const) {
      if (d[key] === undefined) continue;
      const day = calendarDate(d[key]);
      if (day === null) {
        fail(`expected a date like 2026-12-01, got ${describe(d[key])}`, ['dates', key]);
      } else {
        out[key] = day;
      }
    }
    if (out.from !== undefined && out.until !== undefined && out.from > out.until) {
      fail(`expected from <= until, got ${out.from} > ${out.until}`, ['dates']);
    }
  }
  if (windows.length === 0 && dates === undefined && record.windows === undefined) {
    fail('expected windows and/or dates, got neither');
  }
  return out;
});

function zoneOfFirst(windows: readonly string[]): string {
  const first = windows[0];
  return first === undefined ? 'UTC' : (first.split(/\s+/)[2] ?? 'UTC');
}

/** `2026-12-01`, or a Date at UTC midnight as YAML 1.1 timestamps produce. */
function calendarDate(value: unknown): string | null {
  const text =
    value instanceof Date && !Number.isNaN(value.getTime())
      ? value.toISOString().slice(0, 10)
      : value;
  if (typeof text !== 'string' || parseCalendarDay(text) === null) return null;
  return text;
}
