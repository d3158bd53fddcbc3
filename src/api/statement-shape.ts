/**
 * The shape of a statement, command or path: its literals replaced by `?`, comments dropped,
 * whitespace collapsed (and SQL words lower-cased), so that `select * from t where id = 7`
 * and `SELECT *  FROM t WHERE id = 8 -- retry` are the same statement. It is what the
 * dashboard folds repeats by (docs/search.md#aggregation); records keep their own text.
 *
 * No existing module does this: the protocol lexers classify and redact (they keep
 * literals), and libpg-query's normalize needs a statement the parser accepts. This is a
 * lexical pass, total and linear: any text in, a shape out, never an exception.
 */

/** How quotes and comments read: from the listener's protocol. */
export type ShapeDialect = 'postgres' | 'mysql' | 'command' | 'path';

/** The dialect of a listener protocol (`tcp`, `tls` and unknown listeners read as commands). */
export function dialectOf(protocol: string | undefined): ShapeDialect {
  if (protocol === 'postgres') return 'postgres';
  if (protocol === 'mysql') return 'mysql';
  if (protocol === 'http') return 'path';
  return 'command';
}

const isDigit = (c: number): boolean => c >= 0x30 && c <= 0x39;
const isSpace = (c: number): boolean => c === 0x20 || (c >= 0x09 && c <= 0x0d);
/** Letters, digits, `_`, `$` and any non-ASCII character continue a word. */
const isWordPart = (c: number): boolean =>
  isDigit(c) ||
  (c >= 0x41 && c <= 0x5a) ||
  (c >= 0x61 && c <= 0x7a) ||
  c === 0x5f ||
  c === 0x24 ||
  c >= 0x80;
const isHex = (c: number): boolean =>
  isDigit(c) || (c >= 0x41 && c <= 0x46) || (c >= 0x61 && c <= 0x66);

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
/** `E'…'`, `B'…'`, `X'…'`, `N'…'` (PostgreSQL and MySQL); `U&'…'` is read below. */
const PREFIXED_STRING = /^[eEbBxXnN]$/;

/** The shape of `text` read as `dialect`. */
export function statementShape(text: string, dialect: ShapeDialect): string {
  const sql = dialect === 'postgres' || dialect === 'mysql';
  const length = text.length;
  let out = '';
  let space = false;
  const emit = (piece: string): void => {
    if (space && out.length > 0) out += ' ';
    space = false;
    out += piece;
  };
  let pos = 0;
  while (pos < length) {
    const c = text.charCodeAt(pos);
    const next = pos + 1 < length ? text.charCodeAt(pos + 1) : -1;
    if (isSpace(c)) {
      space = true;
      pos += 1;
      continue;
    }
    if (sql && c === 0x2d && next === 0x2d) {
      const nl = text.indexOf('\n', pos);
      pos = nl < 0 ? length : nl + 1;
      space = true;
      continue;
    }
    if (dialect === 'mysql' && c === 0x23 /* # */) {
      const nl = text.indexOf('\n', pos);
      pos = nl < 0 ? length : nl + 1;
      space = true;
      continue;
    }
    if (sql && c === 0x2f && next === 0x2a) {
      const close = text.indexOf('*/', pos + 2);
      pos = close < 0 ? length : close + 2;
      space = true;
      continue;
    }
    // Quotes are SQL's: a Redis key or a path may hold an apostrophe that opens nothing.
    if (sql && (c === 0x27 /* ' */ || (dialect === 'mysql' && c === 0x22)) /* " */) {
      pos = quotedEnd(text, pos, c, dialect === 'mysql');
      emit('?');
      continue;
    }
    if (dialect === 'postgres' && c === 0x24 /* $ */) {
      // $1 parameters and $tag$…$tag$ dollar-quoted strings are both values.
      if (isDigit(next)) {
        pos += 1;
        while (pos < length && isDigit(text.charCodeAt(pos))) pos += 1;
        emit('?');
        continue;
      }
      const tagEnd = dollarTagEnd(text, pos);
      if (tagEnd > 0) {
        const tag = text.slice(pos, tagEnd);
        const close = text.indexOf(tag, tagEnd);
        pos = close < 0 ? length : close + tag.length;
        emit('?');
        continue;
      }
    }
    if (sql && (c === 0x22 /* " */ || c === 0x60) /* ` */) {
      // Quoted identifiers stay as written.
      const end = quotedEnd(text, pos, c, false);
      emit(text.slice(pos, end));
      pos = end;
      continue;
    }
    if (isDigit(c) || (c === 0x2e && isDigit(next))) {
      const uuid = UUID.exec(text.slice(pos, pos + 36));
      pos = uuid ? pos + 36 : numberEnd(text, pos);
      // A number glued to letters (`3d`, a hex id) is one value too.
      while (pos < length && isWordPart(text.charCodeAt(pos))) pos += 1;
      emit('?');
      continue;
    }
    if (isWordPart(c)) {
      let end = pos + 1;
      while (end < length && isWordPart(text.charCodeAt(end))) end += 1;
      const word = text.slice(pos, end);
      const after = end < length ? text.charCodeAt(end) : -1;
      if (sql && after === 0x27 && PREFIXED_STRING.test(word)) {
        pos = quotedEnd(text, end, 0x27, true);
        emit('?');
        continue;
      }
      if (sql && (word === 'U' || word === 'u') && after === 0x26 && text[end + 1] === "'") {
        pos = quotedEnd(text, end + 1, 0x27, false);
        emit('?');
        continue;
      }
      if (!sql && UUID.test(text.slice(pos, pos + 36))) {
        pos += 36;
        emit('?');
        continue;
      }
      emit(sql ? word.toLowerCase() : word);
      pos = end;
      continue;
    }
    emit(text[pos] ?? '');
    pos += 1;
  }
  return out;
}

/** End (exclusive) of a quoted run opened at `pos`: doubled quotes, optional backslash escapes. */
function quotedEnd(text: string, pos: number, quote: number, backslash: boolean): number {
  let i = pos + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (backslash && c === 0x5c) {
      i += 2;
      continue;
    }
    if (c === quote) {
      if (text.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  return text.length;
}

/** End of a `$tag$` opening at `pos` (tag of letters, digits, `_`, not starting with a digit), or -1. */
function dollarTagEnd(text: string, pos: number): number {
  let i = pos + 1;
  while (i < text.length && i - pos <= 64) {
    const c = text.charCodeAt(i);
    if (c === 0x24) return i + 1;
    if (!isWordPart(c) || c === 0x24) return -1;
    i += 1;
  }
  return -1;
}

/** End of a numeric literal at `pos`: digits, one fraction, an exponent, or 0x hex. */
function numberEnd(text: string, pos: number): number {
  const length = text.length;
  let i = pos;
  if (text.charCodeAt(i) === 0x30 && (text[i + 1] === 'x' || text[i + 1] === 'X')) {
    i += 2;
    while (i < length && isHex(text.charCodeAt(i))) i += 1;
    return i;
  }
  while (i < length && isDigit(text.charCodeAt(i))) i += 1;
  if (text.charCodeAt(i) === 0x2e) {
    i += 1;
    while (i < length && isDigit(text.charCodeAt(i))) i += 1;
  }
  const e = text.charCodeAt(i);
  if (e === 0x45 || e === 0x65) {
    let j = i + 1;
    const sign = text.charCodeAt(j);
    if (sign === 0x2b || sign === 0x2d) j += 1;
    if (isDigit(text.charCodeAt(j))) {
      while (j < length && isDigit(text.charCodeAt(j))) j += 1;
      i = j;
    }
  }
  return i;
}
