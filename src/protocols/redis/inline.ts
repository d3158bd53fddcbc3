/**
 * Inline commands: a client may send a command as one line of words. Redis splits the line
 * with `sdssplitargs` (sds.c); this mirrors it byte for byte so the gateway and the server
 * see the same arguments.
 */

const NUL = 0x00;
const BACKSLASH = 0x5c; // '\'
const DQUOTE = 0x22; // '"'
const SQUOTE = 0x27; // "'"

/** C `isspace` in the C locale: space, \t, \n, \v, \f, \r. */
function isSpace(byte: number): boolean {
  return byte === 0x20 || (byte >= 0x09 && byte <= 0x0d);
}

function hexValue(byte: number): number {
  if (byte >= 0x30 && byte <= 0x39) return byte - 0x30;
  if (byte >= 0x61 && byte <= 0x66) return byte - 0x57;
  if (byte >= 0x41 && byte <= 0x46) return byte - 0x37;
  return -1;
}

const ESCAPES: Readonly<Record<number, number>> = {
  0x6e: 0x0a, // \n
  0x72: 0x0d, // \r
  0x74: 0x09, // \t
  0x62: 0x08, // \b
  0x61: 0x07, // \a
};

/**
 * Splits an inline command line into arguments like Redis `sdssplitargs`; undefined when
 * quotes are unbalanced (Redis answers "Protocol error: unbalanced quotes in request").
 */
export function splitInline(line: Buffer): Buffer[] | undefined {
  // sdssplitargs works on a C string: a NUL byte ends the line.
  const nul = line.indexOf(NUL);
  const end = nul === -1 ? line.length : nul;
  const at = (i: number): number => (i < end ? (line[i] ?? NUL) : NUL);
  const args: Buffer[] = [];
  const current: number[] = [];
  let p = 0;
  for (;;) {
    while (p < end && isSpace(at(p))) p++;
    if (p >= end) return args;
    let inDouble = false;
    let inSingle = false;
    let done = false;
    current.length = 0;
    while (!done) {
      const c = at(p);
      if (inDouble) {
        const h1 = hexValue(at(p + 2));
        const h2 = hexValue(at(p + 3));
        if (c === BACKSLASH && at(p + 1) === 0x78 && h1 >= 0 && h2 >= 0) {
          current.push(h1 * 16 + h2);
          p += 3;
        } else if (c === BACKSLASH && at(p + 1) !== NUL) {
          p++;
          const e = at(p);
          current.push(ESCAPES[e] ?? e);
        } else if (c === DQUOTE) {
          // A closing quote must be followed by a space or the end.
          if (at(p + 1) !== NUL && !isSpace(at(p + 1))) return undefined;
          done = true;
        } else if (c === NUL) {
          return undefined;
        } else current.push(c);
      } else if (inSingle) {
        if (c === BACKSLASH && at(p + 1) === SQUOTE) {
          p++;
          current.push(SQUOTE);
        } else if (c === SQUOTE) {
          if (at(p + 1) !== NUL && !isSpace(at(p + 1))) return undefined;
          done = true;
        } else if (c === NUL) {
          return undefined;
        } else current.push(c);
      } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === NUL) {
        done = true;
      } else if (c === DQUOTE) {
        inDouble = true;
      } else if (c === SQUOTE) {
        inSingle = true;
      } else current.push(c);
      if (at(p) !== NUL) p++;
    }
    args.push(Buffer.from(current));
  }
}
