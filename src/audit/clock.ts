/**
 * Nanosecond wall-clock timestamps that never go backwards on a node: the wall clock is
 * read once at start and advanced by the monotonic clock; each value is strictly greater
 * than the previous one (and than the last one in the store, passed at start).
 */
export class NanoClock {
  private readonly baseWallNs: bigint;
  private readonly baseMono: bigint;
  private last: bigint;

  constructor(notBefore: bigint = 0n) {
    this.baseWallNs = BigInt(Date.now()) * 1_000_000n;
    this.baseMono = process.hrtime.bigint();
    this.last = notBefore;
  }

  /** Nanoseconds since the Unix epoch, strictly increasing. */
  now(): bigint {
    let t = this.baseWallNs + (process.hrtime.bigint() - this.baseMono);
    if (t <= this.last) t = this.last + 1n;
    this.last = t;
    return t;
  }
}

/**
 * The text is written here and read out as one flat string (a template of the parts made a
 * rope the canonical encoder flattened again). `2026-11-22T10:15:02.` stays in it for the
 * last whole second formatted (it changes once a second); the nine digits and `Z` follow.
 */
const text = Buffer.alloc(30);
text[29] = 0x5a;
let cachedSecond = -1n;
/** Year 10000: beyond it toISOString's form changes; such times take the general path. */
const FAST_LIMIT_NS = 253_402_300_800n * 1_000_000_000n;

/** RFC 3339 UTC with nine fractional digits: 2026-11-22T10:15:02.123456789Z. */
export function formatTimestampNs(ns: bigint): string {
  if (ns < 0n || ns >= FAST_LIMIT_NS) return formatAnyTimestampNs(ns);
  // Every record formats its time: a Date and its ISO text once a second, not per record.
  const second = ns / 1_000_000_000n;
  if (second !== cachedSecond) {
    text.write(`${new Date(Number(second) * 1000).toISOString().slice(0, 19)}.`, 0, 'latin1');
    cachedSecond = second;
  }
  let frac = Number(ns - second * 1_000_000_000n);
  for (let i = 28; i >= 20; i--) {
    const digit = frac % 10;
    text[i] = 0x30 + digit;
    frac = (frac - digit) / 10;
  }
  return text.toString('latin1', 0, 30);
}

function formatAnyTimestampNs(ns: bigint): string {
  const ms = ns / 1_000_000n;
  const iso = new Date(Number(ms)).toISOString(); // 2026-11-22T10:15:02.123Z
  const frac = (ns % 1_000_000_000n).toString().padStart(9, '0');
  return `${iso.slice(0, 19)}.${frac}Z`;
}

/** Parse RFC 3339 (any fraction length) into epoch nanoseconds; null when invalid. */
export function parseTimestampNs(text: string): bigint | null {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?)(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/i.exec(
    text,
  );
  if (!m) return null;
  const base = Date.parse(`${m[1]}${m[1]?.length === 16 ? ':00' : ''}${m[3]}`);
  if (Number.isNaN(base)) return null;
  const frac = BigInt((m[2] ?? '').padEnd(9, '0') || '0');
  return BigInt(base) * 1_000_000n + frac;
}
