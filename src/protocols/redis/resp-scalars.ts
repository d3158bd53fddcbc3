/** Checks for the text of RESP lines: lengths, integers, doubles — RESP protocol spec. */

/** Strict RESP integer: `-?(0|[1-9][0-9]*)`, at most 18 digits; NaN otherwise. */
export function parseInteger(buf: Buffer, start: number, end: number): number {
  let i = start;
  let negative = false;
  if (i < end && buf[i] === 0x2d) {
    negative = true;
    i++;
  }
  const digits = end - i;
  if (digits < 1 || digits > 18) return NaN;
  if (buf[i] === 0x30 && digits > 1) return NaN;
  let value = 0;
  for (; i < end; i++) {
    const d = (buf[i] ?? 0) - 0x30;
    if (d < 0 || d > 9) return NaN;
    value = value * 10 + d;
  }
  return negative ? -value : value;
}

/** Optional sign then at least one digit (RESP integers and big numbers). */
export function isDigitsOnly(buf: Buffer, start: number, end: number): boolean {
  let i = start;
  if (i < end && (buf[i] === 0x2d || buf[i] === 0x2b)) i++;
  if (i >= end) return false;
  for (; i < end; i++) {
    const b = buf[i] ?? 0;
    if (b < 0x30 || b > 0x39) return false;
  }
  return true;
}

/** RESP3 double: digits, sign, '.', exponent, or inf / -inf / nan. */
export function isDouble(buf: Buffer, start: number, end: number): boolean {
  if (start >= end) return false;
  for (let i = start; i < end; i++) {
    const b = buf[i] ?? 0;
    const ok =
      (b >= 0x30 && b <= 0x39) ||
      b === 0x2b ||
      b === 0x2d ||
      b === 0x2e ||
      b === 0x65 ||
      b === 0x45 ||
      b === 0x69 ||
      b === 0x6e ||
      b === 0x66 ||
      b === 0x61;
    if (!ok) return false;
  }
  return true;
}

/** A byte for an error message: the character when printable, else hex. */
export function printable(byte: number): string {
  return byte >= 0x21 && byte <= 0x7e ? `'${String.fromCharCode(byte)}'` : `0x${byte.toString(16)}`;
}
