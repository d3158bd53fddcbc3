/**
 * The `event.sequence` a record's body claims, checked on every record by `verify`: a fast
 * scan of the canonical text, on the body as a string (the sequential path) or on its UTF-8
 * bytes (the fast path's batches, verify-range.ts), and a full parse when the scan is in
 * doubt.
 */

const EVENT_KEY = '"event":{';
const SEQUENCE_KEY = '"sequence":';
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const ZERO = 0x30;
/** Digits of the largest safe integer. */
const MAX_DIGITS = 16;

/** Whether a body's `event.sequence` is `pos` (the fast scan, then a parse if in doubt). */
export function bodySequenceOk(body: string, pos: number): boolean {
  return bodySequenceIs(body, 0, body.length, pos) || bodySequence(body) === pos;
}

/**
 * `bodySequenceOk` on a body stored as UTF-8 in `bytes[start, end)`, scanned in `text`, the
 * same bytes as a latin1 string (one character per byte; verify-range.ts makes one per
 * batch): UTF-8 puts no ASCII byte inside a multi-byte character, so the ASCII tokens the
 * scan looks for are found where they are in the body.
 */
export function bodyBytesSequenceOk(
  bytes: Buffer,
  text: string,
  start: number,
  end: number,
  pos: number,
): boolean {
  return (
    bodySequenceIs(text, start, end, pos) ||
    bodySequence(bytes.toString('utf8', start, end)) === pos
  );
}

/**
 * Fast check that the canonical body in `text[from, end)` has `event.sequence` equal to
 * `expected`, without JSON.parse (which alone would cap verify near 500k records/s). A key
 * token is recognised only after `{` or `,`, so text inside strings (whose quotes are
 * escaped) cannot pose as one; the canonical key order puts `sequence` after only scalar
 * and string-array members of `event`. Any doubt returns false, and the caller then
 * decides with JSON.parse.
 */
function bodySequenceIs(text: string, from: number, end: number, expected: number): boolean {
  const e = text.indexOf(EVENT_KEY, from);
  if (e <= from || e + EVENT_KEY.length > end) return false;
  const before = text.charCodeAt(e - 1);
  if (before !== COMMA && before !== OPEN_BRACE) return false;
  const s = text.indexOf(SEQUENCE_KEY, e + EVENT_KEY.length);
  if (s < 0 || s + SEQUENCE_KEY.length > end || text.charCodeAt(s - 1) !== COMMA) return false;
  const start = s + SEQUENCE_KEY.length;
  let i = start;
  let value = 0;
  for (; i < end && i - start <= MAX_DIGITS; i++) {
    const c = text.charCodeAt(i) - ZERO;
    if (c < 0 || c > 9) break;
    value = value * 10 + c;
  }
  const digits = i - start;
  if (digits === 0 || digits > MAX_DIGITS || (digits > 1 && text.charCodeAt(start) === ZERO))
    return false;
  if (i >= end) return false;
  const after = text.charCodeAt(i);
  return (after === COMMA || after === CLOSE_BRACE) && value === expected;
}

/** The body's `event.sequence` by a full parse, or null when it has none. */
export function bodySequence(body: string): number | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return null;
  }
  if (typeof parsed !== 'object' || parsed === null || !('event' in parsed)) return null;
  const event: unknown = parsed.event;
  if (typeof event !== 'object' || event === null || !('sequence' in event)) return null;
  const sequence: unknown = event.sequence;
  return typeof sequence === 'number' && Number.isSafeInteger(sequence) ? sequence : null;
}
