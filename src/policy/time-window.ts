/**
 * Wall-clock time windows: "Mon-Fri 08:00-18:00 Europe/Berlin", "Sat,Sun 00:00-24:00 UTC",
 * "Daily 22:00-06:00 America/New_York" (an end before the start runs past midnight and
 * belongs to the start day). A window is local time in its zone, so it follows DST: on the
 * spring-forward day 02:00-03:00 Berlin never happens, on the fall-back day it happens twice
 * and both hours match.
 */
import { IANAZone } from 'luxon';

const DAY_NAMES = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
const MS_PER_DAY = 86_400_000;
const MS_PER_MINUTE = 60_000;
/** Offsets only change on a quarter hour in every modern tzdata zone (see ZoneClock). */
const OFFSET_BUCKET_MS = 900_000;

/**
 * UTC instant → local wall clock in one zone without allocating per call. Luxon computes the
 * zone offset (through Intl); we remember it for the current quarter hour of UTC, then do
 * integer arithmetic. Every modern tz transition falls on a quarter hour of UTC, so the
 * cache is exact for them; pre-1970 local-mean-time offsets with seconds may be off for the
 * minutes around their one transition.
 */
export class ZoneClock {
  readonly zoneName: string;
  private readonly zone: IANAZone;
  private bucket = Number.NaN;
  private offsetMs = 0;

  constructor(zoneName: string) {
    this.zoneName = zoneName;
    this.zone = IANAZone.create(zoneName);
  }

  /** Milliseconds since the epoch of the local wall-clock reading at `utcMs`. */
  localMs(utcMs: number): number {
    if (!Number.isFinite(utcMs)) throw new RangeError('invalid instant');
    const bucket = Math.floor(utcMs / OFFSET_BUCKET_MS);
    if (bucket !== this.bucket) {
      this.offsetMs = this.zone.offset(utcMs) * MS_PER_MINUTE;
      this.bucket = bucket;
    }
    return utcMs + this.offsetMs;
  }
}

/** Local day number (days since 1970-01-01 on the wall calendar). */
export function localDay(localMs: number): number {
  return Math.floor(localMs / MS_PER_DAY);
}

/** ISO weekday index 0 = Monday … 6 = Sunday of a local day number (1970-01-01 was a Thursday). */
export function weekdayIndex(day: number): number {
  return (((day + 3) % 7) + 7) % 7;
}

/** One compiled window. */
export interface TimeWindow {
  /** Bit i set: ISO weekday index i (0 = Monday) is a start day. */
  readonly dayMask: number;
  readonly startMinute: number;
  /** Exclusive; 1440 for 24:00; less than startMinute for an overnight window. */
  readonly endMinute: number;
  readonly clock: ZoneClock;
}

/** Whether `zoneName` is a zone luxon knows (IANA names and UTC). */
export function isValidZone(zoneName: string): boolean {
  return IANAZone.isValidZone(zoneName);
}

/** Parse one window; a string result says what was wrong. Clocks are shared per zone. */
export function parseTimeWindow(text: string, clocks: Map<string, ZoneClock>): TimeWindow | string {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) return 'expected "<days> HH:MM-HH:MM <zone>"';
  const [daysText = '', rangeText = '', zoneName = ''] = parts;
  const dayMask = parseDays(daysText);
  if (typeof dayMask === 'string') return dayMask;
  const range = /^(\d{2}):(\d{2})-(\d{2}):(\d{2})$/.exec(rangeText);
  if (range === null) return `expected a time range like 08:00-18:00, got "${rangeText}"`;
  const startMinute = minuteOfDay(range[1], range[2], false);
  const endMinute = minuteOfDay(range[3], range[4], true);
  if (startMinute === null || endMinute === null) {
    return `expected times 00:00-24:00, got "${rangeText}"`;
  }
  if (startMinute === endMinute) return `empty time range "${rangeText}"`;
  if (!isValidZone(zoneName)) {
    return `expected IANA time zone like Europe/Berlin, got "${zoneName}"`;
  }
  return { dayMask, startMinute, endMinute, clock: clockFor(zoneName, clocks) };
}

/** The shared clock of a zone (one cache slot per zone per compiled policy set). */
export function clockFor(zoneName: string, clocks: Map<string, ZoneClock>): ZoneClock {
  let clock = clocks.get(zoneName);
  if (clock === undefined) {
    clock = new ZoneClock(zoneName);
    clocks.set(zoneName, clock);
  }
  return clock;
}

/** Whether the instant falls in the window, read on the window's local wall clock. */
export function inWindow(window: TimeWindow, utcMs: number): boolean {
  const local = window.clock.localMs(utcMs);
  const day = localDay(local);
  const minute = Math.floor((local - day * MS_PER_DAY) / MS_PER_MINUTE);
  const today = (window.dayMask >> weekdayIndex(day)) & 1;
  if (window.startMinute < window.endMinute) {
    return today === 1 && minute >= window.startMinute && minute < window.endMinute;
  }
  // Overnight: the evening part belongs to today, the morning part to yesterday's window.
  if (today === 1 && minute >= window.startMinute) return true;
  const yesterday = (window.dayMask >> weekdayIndex(day - 1)) & 1;
  return yesterday === 1 && minute < window.endMinute;
}

/** Day number of a calendar date `YYYY-MM-DD`, or null when it is not a real date. */
export function parseCalendarDay(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (m === null) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const date = Number(m[3]);
  const ms = Date.UTC(year, month - 1, date);
  const check = new Date(ms);
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== date) return null;
  return ms / MS_PER_DAY;
}

function parseDays(text: string): number | string {
  const lower = text.toLowerCase();
  if (lower === 'daily' || lower === '*') return 0x7f;
  let mask = 0;
  for (const item of lower.split(',')) {
    const [from = '', to, extra] = item.split('-');
    const a = dayIndex(from);
    const b = to === undefined ? a : dayIndex(to);
    if (a < 0 || b < 0 || extra !== undefined) {
      return `expected days like Mon-Fri, Sat,Sun or Daily, got "${text}"`;
    }
    // A range may wrap over the week end: Fri-Mon is Fri, Sat, Sun, Mon.
    for (let i = a; ; i = (i + 1) % 7) {
      mask |= 1 << i;
      if (i === b) break;
    }
  }
  return mask;
}

function dayIndex(name: string): number {
  return DAY_NAMES.indexOf(name as (typeof DAY_NAMES)[number]);
}

function minuteOfDay(
  hourText: string | undefined,
  minuteText: string | undefined,
  isEnd: boolean,
): number | null {
  const hour = Number(hourText);
  const minute = Number(minuteText);
  if (minute > 59) return null;
  if (hour === 24 && minute === 0 && isEnd) return 1440;
  if (hour > 23) return null;
  return hour * 60 + minute;
}
