/** Time arguments: RFC 3339 (`2026-11-23T03:00:00Z`) or relative to now (`15m`, `7d`). */
import { parseTimestampNs } from '../audit/clock.js';
// address.js, not the config index: the index loads the whole config schema at start-up.
import { parseDurationMs } from '../config/address.js';
import { usage } from './io.js';

export function parseTimeArg(text: string, now: number = Date.now()): bigint {
  const abs = parseTimestampNs(text);
  if (abs !== null) return abs;
  const rel = /^\d+(ms|s|m|h|d)$/.test(text) ? parseDurationMs(text) : null;
  if (rel !== null) return BigInt(now - rel) * 1_000_000n;
  throw usage(`expected a time like 2026-11-23T03:00:00Z or 15m / 7d, got "${text}"`);
}
