/**
 * A small MySQL SQL tokenizer for classification, redaction and statement splitting. It
 * skips comments, keeps string literals whole and reports what it could not be sure of;
 * it is not a parser (Language Structure: String Literals, Comments, Identifiers).
 */

export type TokenKind =
  /** An unquoted word: keyword or identifier (`upper` holds it in upper case). */
  | 'word'
  /** A back-quoted identifier; `upper` holds the unquoted name as written. */
  | 'quoted'
  /** A string literal in single or double quotes (with any x/b/n prefix). */
  | 'string'
  | 'number'
  /** A user or system variable: @name, @@name, @'quoted'. */
  | 'variable'
  /** One punctuation or operator character. */
  | 'punct';

export interface Token {
  readonly kind: TokenKind;
  /** Offsets into the text, `[start, end)`. */
  readonly start: number;
  readonly end: number;
  /** Upper-cased word, unquoted identifier, or the punctuation character. */
  readonly upper: string;
}

export interface Lexed {
  readonly tokens: readonly Token[];
  /** A string, quoted identifier or comment ran to the end of the text. */
  readonly unterminated: boolean;
  /**
   * A backslash stood before a closing quote: where the session runs with
   * NO_BACKSLASH_ESCAPES the server would end the string there, so boundaries are unsure.
   */
  readonly ambiguousEscape: boolean;
}

const isWordChar = (code: number): boolean =>
  (code >= 0x30 && code <= 0x39) || // 0-9
  (code >= 0x41 && code <= 0x5a) || // A-Z
  (code >= 0x61 && code <= 0x7a) || // a-z
  code === 0x5f || // _
  code === 0x24 || // $
  code >= 0x80; // identifiers may hold any non-ASCII character

const isSpace = (code: number): boolean => code === 0x20 || (code >= 0x09 && code <= 0x0d);

/**
 * Splits `text` into tokens; never throws. `backslashEscapes` false lexes as the server does
 * under sql_mode NO_BACKSLASH_ESCAPES.
 */
export function lex(text: string, backslashEscapes = true): Lexed {
  const tokens: Token[] = [];
  const length = text.length;
  let unterminated = false;
  let ambiguousEscape = false;
  let inExecutableComment = false;
  let pos = 0;
  while (pos < length) {
    const code = text.charCodeAt(pos);
    if (isSpace(code)) {
      pos += 1;
      continue;
    }
    const next = pos + 1 < length ? text.charCodeAt(pos + 1) : -1;
    // `-- ` comment needs a space or control character after the dashes (Comments).
    if (code === 0x2d && next === 0x2d && (pos + 2 >= length || text.charCodeAt(pos + 2) <= 0x20)) {
      pos = lineEnd(text, pos);
      continue;
    }
    if (code === 0x23 /* # */) {
      pos = lineEnd(text, pos);
      continue;
    }
    if (code === 0x2f /* / */ && next === 0x2a /* * */) {
      // `/*! … */` and `/*M! … */` hold code the server runs: lex their content.
      const bang =
        text.charCodeAt(pos + 2) === 0x21 ? pos + 3 : text.startsWith('M!', pos + 2) ? pos + 4 : -1;
      if (bang >= 0 && !inExecutableComment) {
        pos = bang;
        while (pos < length && text.charCodeAt(pos) >= 0x30 && text.charCodeAt(pos) <= 0x39)
          pos += 1;
        inExecutableComment = true;
        continue;
      }
      const close = text.indexOf('*/', pos + 2);
      if (close < 0) {
        unterminated = true;
        break;
      }
      pos = close + 2;
      continue;
    }
    if (inExecutableComment && code === 0x2a && next === 0x2f) {
      inExecutableComment = false;
      pos += 2;
      continue;
    }
    if (code === 0x27 || code === 0x22) {
      const end = stringEnd(text, pos, code, backslashEscapes);
      if (end.ambiguous) ambiguousEscape = true;
      if (end.end < 0) {
        unterminated = true;
        tokens.push({ kind: 'string', start: pos, end: length, upper: '' });
        break;
      }
      tokens.push({ kind: 'string', start: pos, end: end.end, upper: '' });
      pos = end.end;
      continue;
    }
    if (code === 0x60 /* ` */) {
      const end = quotedEnd(text, pos, 0x60);
      if (end < 0) {
        unterminated = true;
        tokens.push({ kind: 'quoted', start: pos, end: length, upper: text.slice(pos + 1) });
        break;
      }
      tokens.push({
        kind: 'quoted',
        start: pos,
        end,
        upper: text.slice(pos + 1, end - 1).replaceAll('``', '`'),
      });
      pos = end;
      continue;
    }
    if (code === 0x40 /* @ */) {
      let end = pos + 1;
      if (end < length && text.charCodeAt(end) === 0x40) end += 1;
      const quote = end < length ? text.charCodeAt(end) : -1;
      if (quote === 0x27 || quote === 0x22 || quote === 0x60) {
        const close = quotedEnd(text, end, quote);
        end = close < 0 ? length : close;
      } else {
        while (end < length && (isWordChar(text.charCodeAt(end)) || text.charCodeAt(end) === 0x2e))
          end += 1;
      }
      tokens.push({ kind: 'variable', start: pos, end, upper: text.slice(pos, end).toUpperCase() });
      pos = end;
      continue;
    }
    if (isWordChar(code)) {
      let end = pos + 1;
      while (end < length && isWordChar(text.charCodeAt(end))) end += 1;
      const word = text.slice(pos, end);
      const after = end < length ? text.charCodeAt(end) : -1;
      // x'…', b'…', n'…' and _charset'…' are string literals with a prefix.
      if ((after === 0x27 || after === 0x22) && /^(?:[xXbBnN]|_\w+)$/.test(word)) {
        const close = stringEnd(text, end, after, backslashEscapes);
        if (close.ambiguous) ambiguousEscape = true;
        tokens.push({
          kind: 'string',
          start: pos,
          end: close.end < 0 ? length : close.end,
          upper: '',
        });
        if (close.end < 0) {
          unterminated = true;
          break;
        }
        pos = close.end;
        continue;
      }
      const numeric =
        code >= 0x30 && code <= 0x39 && /^\d+(?:[eE]\d*)?$|^0[xXbB][0-9a-fA-F]*$/.test(word);
      tokens.push({
        kind: numeric ? 'number' : 'word',
        start: pos,
        end,
        upper: numeric ? word : word.toUpperCase(),
      });
      pos = end;
      continue;
    }
    tokens.push({ kind: 'punct', start: pos, end: pos + 1, upper: text[pos] ?? '' });
    pos += 1;
  }
  return { tokens, unterminated, ambiguousEscape };
}

function lineEnd(text: string, pos: number): number {
  const newline = text.indexOf('\n', pos);
  return newline < 0 ? text.length : newline + 1;
}

/** End (exclusive) of a string literal opened at `pos`: doubled quotes and backslash escapes. */
function stringEnd(
  text: string,
  pos: number,
  quote: number,
  backslashEscapes: boolean,
): { end: number; ambiguous: boolean } {
  let ambiguous = false;
  let i = pos + 1;
  while (i < text.length) {
    const code = text.charCodeAt(i);
    if (code === 0x5c /* \ */ && backslashEscapes) {
      if (text.charCodeAt(i + 1) === quote) ambiguous = true;
      i += 2;
      continue;
    }
    if (code === quote) {
      if (text.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return { end: i + 1, ambiguous };
    }
    i += 1;
  }
  return { end: -1, ambiguous };
}

/** End (exclusive) of a quoted identifier: the quote doubled inside stands for itself. */
function quotedEnd(text: string, pos: number, quote: number): number {
  let i = pos + 1;
  while (i < text.length) {
    if (text.charCodeAt(i) === quote) {
      if (text.charCodeAt(i + 1) === quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    i += 1;
  }
  return -1;
}
