import { lex } from './lexer.js';
import type { Token } from './lexer.js';

/** One statement of a COM_QUERY text, as the server will run it (as far as we can tell). */
export interface Statement {
  /** The statement's text, without the separating `;` and surrounding space. */
  readonly text: string;
  /** Its tokens, offsets relative to `text`. */
  readonly tokens: readonly Token[];
  /**
   * The same statement lexed as under NO_BACKSLASH_ESCAPES, when that reading differs and is
   * well-formed: a classifier must agree on both or answer unknown.
   */
  readonly alternative?: readonly Token[];
  /** The split or the statement itself could not be read with confidence. */
  readonly uncertain: boolean;
}

/** Words that open a compound statement when they start one (MariaDB runs these outside routines). */
const COMPOUND_START = new Set(['IF', 'CASE', 'LOOP', 'REPEAT', 'WHILE', 'FOR', 'DECLARE']);
/** Routine kinds whose body may be a BEGIN … END block holding `;`. */
const ROUTINES = new Set(['PROCEDURE', 'FUNCTION', 'TRIGGER', 'EVENT', 'PACKAGE']);
/** Words that open a block inside a routine body. */
const BLOCK_WORDS = new Set(['BEGIN', 'LOOP', 'REPEAT', 'WHILE']);

interface Segment {
  readonly from: number;
  readonly to: number;
  readonly block: boolean;
}

/**
 * Splits a multi-statement text at top-level `;` conservatively: when a statement may be a
 * compound block, or the text is unterminated, the rest stays one uncertain statement; when
 * a backslash before a quote makes string boundaries depend on sql_mode, both readings are
 * kept and must split the same way.
 */
export function splitStatements(text: string): Statement[] {
  const lexed = lex(text);
  const segments = segment(lexed.tokens, lexed.unterminated);
  let alternative: readonly Token[] | undefined;
  let altSegments: Segment[] | undefined;
  if (lexed.ambiguousEscape) {
    const alt = lex(text, false);
    if (!alt.unterminated) {
      alternative = alt.tokens;
      altSegments = segment(alt.tokens, false);
      // The readings disagree on where statements end: trust neither.
      if (altSegments.length !== segments.length) {
        return [{ ...makeStatement(text, lexed.tokens, 0, lexed.tokens.length), uncertain: true }];
      }
    }
  }
  const statements = segments.map((s, index): Statement => {
    const statement = makeStatement(text, lexed.tokens, s.from, s.to);
    const altSegment = altSegments?.[index];
    if (alternative === undefined || altSegment === undefined)
      return { ...statement, uncertain: s.block };
    const other = makeStatement(text, alternative, altSegment.from, altSegment.to);
    return { ...statement, alternative: other.tokens, uncertain: s.block || altSegment.block };
  });
  if (statements.length === 0)
    statements.push({ text: text.trim(), tokens: [], uncertain: lexed.unterminated });
  return statements;
}

/** Token ranges of the statements; a block (or an unterminated tail) swallows the rest. */
function segment(tokens: readonly Token[], unterminated: boolean): Segment[] {
  const segments: Segment[] = [];
  let begin = 0;
  for (let i = 0; i <= tokens.length; i += 1) {
    const token = tokens[i];
    if (token !== undefined && !(token.kind === 'punct' && token.upper === ';')) continue;
    if (i > begin) {
      if (opensBlock(tokens, begin, i) || (unterminated && i === tokens.length)) {
        segments.push({ from: begin, to: tokens.length, block: true });
        return segments;
      }
      segments.push({ from: begin, to: i, block: false });
    }
    begin = i + 1;
  }
  return segments;
}

/**
 * The statement's text runs from just after the previous `;` to just before its own (so
 * comments around it, e.g. sqlcommenter tags, are kept), trimmed of white space.
 */
function makeStatement(
  text: string,
  tokens: readonly Token[],
  from: number,
  to: number,
): Statement {
  let last = to - 1;
  // A trailing `;` is not part of the statement.
  while (last > from && tokens[last]?.kind === 'punct' && tokens[last]?.upper === ';') last -= 1;
  const first = tokens[from];
  const lastToken = tokens[last];
  if (first === undefined || lastToken === undefined)
    return { text: '', tokens: [], uncertain: false };
  const previous = tokens[from - 1];
  const next = tokens[last + 1];
  let begin = previous === undefined ? 0 : previous.end;
  let end = next === undefined ? text.length : next.start;
  while (begin < first.start && /\s/.test(text[begin] ?? '')) begin += 1;
  while (end > lastToken.end && /\s/.test(text[end - 1] ?? '')) end -= 1;
  const own: Token[] = [];
  for (let i = from; i <= last; i += 1) {
    const t = tokens[i];
    if (t !== undefined)
      own.push({ kind: t.kind, start: t.start - begin, end: t.end - begin, upper: t.upper });
  }
  return { text: text.slice(begin, end), tokens: own, uncertain: false };
}

/** Does the statement in `tokens[from, to)` open a block whose body holds `;`? */
function opensBlock(tokens: readonly Token[], from: number, to: number): boolean {
  const first = tokens[from];
  const second = tokens[from + 1];
  if (first === undefined) return false;
  if (first.kind === 'word' && first.upper === 'BEGIN') return second?.upper === 'NOT'; // BEGIN NOT ATOMIC
  if (first.kind === 'word' && COMPOUND_START.has(first.upper)) return true;
  // `label: BEGIN …`
  if (
    (first.kind === 'word' || first.kind === 'quoted') &&
    second?.kind === 'punct' &&
    second.upper === ':'
  )
    return true;
  if (first.upper !== 'CREATE') return false;
  let routine = false;
  for (let i = from + 1; i < to; i += 1) {
    const token = tokens[i];
    if (token?.kind !== 'word') continue;
    if (!routine && ROUTINES.has(token.upper)) routine = true;
    else if (routine && BLOCK_WORDS.has(token.upper)) return true;
  }
  return false;
}
