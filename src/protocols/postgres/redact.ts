/**
 * Removes literal secrets from SQL text before it enters a record or a policy decision
 * (DESIGN §4: secrets never enter an event). Pure and total: any text in, text out.
 *
 * Covered: a string literal right after the word PASSWORD — `CREATE|ALTER ROLE|USER …
 * [ENCRYPTED] PASSWORD '…'` and the `password '…'` option of `CREATE|ALTER USER MAPPING` /
 * `CREATE|ALTER SERVER … OPTIONS (…)` —, and inside any literal a `password=…` conninfo
 * pair (`CREATE SUBSCRIPTION … CONNECTION '…'`, dblink) or the password of a
 * `scheme://user:password@host` URI.
 */

const SECRET_HINT = /password|:\/\//i;
const CONNINFO_PASSWORD = /(password\s*=\s*)(?:''(?:[^']|'''')*''|[^\s']+)/gi;
const URI_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^:/@\s']*:)[^@\s']*(@)/gi;
/** Used when the text does not lex (an unterminated quote or comment): err on the side of hiding. */
const LOOSE_PASSWORD =
  /(password\s+)(?:[eE]?'(?:[^']|'')*'?|\$[A-Za-z_]*\$[^]*?(?:\$[A-Za-z_]*\$|$))/gi;

/** Returned by the skip functions when the closing delimiter never comes. */
const UNTERMINATED = -1;

export const REDACTED_LITERAL = "'***'";

/** Returns `sql` with secret literals replaced by `'***'`. */
export function redactSql(sql: string): string {
  // Fast path: nearly every statement mentions neither a password nor a URI.
  if (!SECRET_HINT.test(sql)) return sql;
  let out = '';
  let copiedUpTo = 0;
  let previousWord = '';
  let pos = 0;
  let unterminated = false;
  const length = sql.length;
  while (pos < length) {
    const ch = sql.charCodeAt(pos);
    // Whitespace
    if (ch === 0x20 || (ch >= 0x09 && ch <= 0x0d)) {
      pos++;
      continue;
    }
    // -- comment to end of line
    if (ch === 0x2d && sql.charCodeAt(pos + 1) === 0x2d) {
      const nl = sql.indexOf('\n', pos);
      pos = nl < 0 ? length : nl + 1;
      continue;
    }
    // /* nested */ comments
    if (ch === 0x2f && sql.charCodeAt(pos + 1) === 0x2a) {
      pos = skipBlockComment(sql, pos);
      if (pos < 0) break;
      continue;
    }
    const literal = stringLiteralAt(sql, pos);
    if (literal === UNTERMINATED) {
      unterminated = true;
      break;
    }
    if (literal !== null) {
      const raw = sql.slice(pos, literal);
      const replacement = previousWord === 'password' ? REDACTED_LITERAL : redactInsideLiteral(raw);
      if (replacement !== raw) {
        out += sql.slice(copiedUpTo, pos) + replacement;
        copiedUpTo = literal;
      }
      previousWord = '';
      pos = literal;
      continue;
    }
    // "quoted identifier"
    if (ch === 0x22) {
      pos = skipQuoted(sql, pos, 0x22);
      if (pos < 0) break;
      previousWord = '';
      continue;
    }
    if (isIdentStart(ch)) {
      let end = pos + 1;
      while (end < length && isIdentPart(sql.charCodeAt(end))) end++;
      previousWord = sql.slice(pos, end).toLowerCase();
      pos = end;
      continue;
    }
    previousWord = '';
    pos++;
  }
  const redacted = copiedUpTo === 0 ? sql : out + sql.slice(copiedUpTo);
  if (pos >= 0 && !unterminated) return redacted;
  // The server will refuse this text, but it must not reach the record with a secret in it.
  return redacted.replace(LOOSE_PASSWORD, `$1${REDACTED_LITERAL}`).replace(URI_PASSWORD, '$1***$2');
}

function redactInsideLiteral(raw: string): string {
  return raw.replace(CONNINFO_PASSWORD, '$1***').replace(URI_PASSWORD, '$1***$2');
}

/** If a string literal starts at `pos`, returns the offset just past it, else null. */
function stringLiteralAt(sql: string, pos: number): number | null {
  const ch = sql.charCodeAt(pos);
  if (ch === 0x27) return skipQuoted(sql, pos, 0x27);
  if (ch === 0x24) return dollarQuoted(sql, pos);
  // E'…' escapes with backslashes; B'…', X'…', N'…' and U&'…' are plain.
  const next = sql.charCodeAt(pos + 1);
  if ((ch | 0x20) === 0x65 && next === 0x27 && !isIdentPart(sql.charCodeAt(pos - 1)))
    return skipEscaped(sql, pos + 1);
  if (
    ((ch | 0x20) === 0x62 || (ch | 0x20) === 0x78 || (ch | 0x20) === 0x6e) &&
    next === 0x27 &&
    !isIdentPart(sql.charCodeAt(pos - 1))
  ) {
    return skipQuoted(sql, pos + 1, 0x27);
  }
  if (
    (ch | 0x20) === 0x75 &&
    next === 0x26 &&
    sql.charCodeAt(pos + 2) === 0x27 &&
    !isIdentPart(sql.charCodeAt(pos - 1))
  ) {
    return skipQuoted(sql, pos + 2, 0x27);
  }
  return null;
}

/** Skips a quote-delimited token where a doubled quote stands for one; unterminated runs to the end. */
function skipQuoted(sql: string, pos: number, quote: number): number {
  let i = pos + 1;
  for (;;) {
    const close = sql.indexOf(String.fromCharCode(quote), i);
    if (close < 0) return UNTERMINATED;
    if (sql.charCodeAt(close + 1) === quote) {
      i = close + 2;
      continue;
    }
    return close + 1;
  }
}

/** E'…': a backslash escapes the next character; '' is a quote too. */
function skipEscaped(sql: string, quotePos: number): number {
  let i = quotePos + 1;
  while (i < sql.length) {
    const ch = sql.charCodeAt(i);
    if (ch === 0x5c) {
      i += 2;
      continue;
    }
    if (ch === 0x27) {
      if (sql.charCodeAt(i + 1) === 0x27) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i++;
  }
  return UNTERMINATED;
}

/** $tag$…$tag$; `$1` (a parameter) and a lone `$` are not literals. */
function dollarQuoted(sql: string, pos: number): number | null {
  if (isIdentPart(sql.charCodeAt(pos - 1))) return null;
  let i = pos + 1;
  const first = sql.charCodeAt(i);
  if (first !== 0x24 && !isIdentStart(first)) return null;
  while (i < sql.length && sql.charCodeAt(i) !== 0x24) {
    const ch = sql.charCodeAt(i);
    if (!(isIdentPart(ch) && ch !== 0x24)) return null;
    i++;
  }
  if (i >= sql.length) return null;
  const delimiter = sql.slice(pos, i + 1);
  const close = sql.indexOf(delimiter, i + 1);
  return close < 0 ? UNTERMINATED : close + delimiter.length;
}

function skipBlockComment(sql: string, pos: number): number {
  let depth = 0;
  let i = pos;
  while (i < sql.length) {
    if (sql.charCodeAt(i) === 0x2f && sql.charCodeAt(i + 1) === 0x2a) {
      depth++;
      i += 2;
    } else if (sql.charCodeAt(i) === 0x2a && sql.charCodeAt(i + 1) === 0x2f) {
      depth--;
      i += 2;
      if (depth === 0) return i;
    } else {
      i++;
    }
  }
  return UNTERMINATED;
}

function isIdentStart(ch: number): boolean {
  return (ch >= 0x61 && ch <= 0x7a) || (ch >= 0x41 && ch <= 0x5a) || ch === 0x5f || ch >= 0x80;
}

function isIdentPart(ch: number): boolean {
  return isIdentStart(ch) || (ch >= 0x30 && ch <= 0x39) || ch === 0x24;
}
