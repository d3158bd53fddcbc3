import { lex } from './lexer.js';
import type { Token } from './lexer.js';

/**
 * Secrets never enter a record (DESIGN §4): string literals after IDENTIFIED (BY, WITH … BY/AS,
 * VIA … USING, REPLACE), inside PASSWORD('…') / OLD_PASSWORD('…'), after SET PASSWORD … =,
 * and after PASSWORD / MASTER_PASSWORD / SOURCE_PASSWORD [=] (replication, CREATE SERVER)
 * become '***'. Over-redacting a neighbouring literal is accepted; missing one is not.
 */

export const REDACTED = "'***'";

const PASSWORD_OPTIONS = new Set(['PASSWORD', 'MASTER_PASSWORD', 'SOURCE_PASSWORD']);
const PASSWORD_FUNCTIONS = new Set(['PASSWORD', 'OLD_PASSWORD']);

/** Redacts a whole SQL text. */
export function redactSql(text: string): string {
  const main = lex(text);
  const alternative = main.ambiguousEscape ? lex(text, false).tokens : undefined;
  return redactTokens(text, main.tokens, alternative);
}

/**
 * Redacts `text` given its tokens; with an `alternative` lexing (NO_BACKSLASH_ESCAPES), what
 * either reading finds secret is hidden.
 */
export function redactTokens(
  text: string,
  tokens: readonly Token[],
  alternative?: readonly Token[],
): string {
  const ranges = secretRanges(tokens);
  if (alternative !== undefined) ranges.push(...secretRanges(alternative));
  if (ranges.length === 0) return text;
  ranges.sort((a, b) => a[0] - b[0]);
  let out = '';
  let at = 0;
  for (const [start, end] of ranges) {
    if (end <= at) continue;
    out += text.slice(at, Math.max(at, start)) + (start >= at ? REDACTED : '');
    at = end;
  }
  return out + text.slice(at);
}

/** True when the text holds a clause whose values are secret (used to keep bound values out too). */
export function mentionsSecret(tokens: readonly Token[]): boolean {
  return tokens.some(
    (t) =>
      t.kind === 'word' &&
      (t.upper === 'IDENTIFIED' || PASSWORD_OPTIONS.has(t.upper) || t.upper === 'OLD_PASSWORD'),
  );
}

/** `[start, end)` of each string literal that holds a secret. */
function secretRanges(tokens: readonly Token[]): Array<[number, number]> {
  const ranges: Array<[number, number]> = [];
  const setPassword = tokens[0]?.upper === 'SET' && tokens[1]?.upper === 'PASSWORD';
  let afterEquals = false;
  let identified = false;
  let depth = 0;
  let functionDepth = -1;
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token === undefined) break;
    if (token.kind === 'punct') {
      if (token.upper === '(') depth += 1;
      else if (token.upper === ')') {
        if (depth === functionDepth) functionDepth = -1;
        depth -= 1;
      } else if (token.upper === '=') afterEquals = true;
      // The next user of CREATE USER a IDENTIFIED BY 'x', b … or the next statement.
      else if ((token.upper === ',' && depth === 0) || token.upper === ';') identified = false;
      continue;
    }
    if (token.kind === 'string') {
      if (identified || functionDepth >= 0 || (setPassword && afterEquals))
        ranges.push([token.start, token.end]);
      continue;
    }
    if (token.kind !== 'word') continue;
    if (token.upper === 'IDENTIFIED') identified = true;
    else if (PASSWORD_FUNCTIONS.has(token.upper) && tokens[i + 1]?.upper === '(')
      functionDepth = depth + 1;
    else if (PASSWORD_OPTIONS.has(token.upper)) {
      // PASSWORD = 'x', MASTER_PASSWORD='x', OPTIONS (PASSWORD 'x')
      let j = i + 1;
      if (tokens[j]?.upper === '=') j += 1;
      const value = tokens[j];
      if (value?.kind === 'string') ranges.push([value.start, value.end]);
    }
  }
  return ranges;
}
