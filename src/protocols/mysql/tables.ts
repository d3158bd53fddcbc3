import type { Token } from './lexer.js';

/**
 * Table names a statement touches, found from the tokens after FROM, JOIN, INTO, TABLE,
 * REFERENCES and the like. A best effort, not a parser: names inside function calls
 * (`EXTRACT(YEAR FROM d)`) are ignored, subqueries are searched too.
 */

/** Words that can never be a table name or an alias where we look for one. */
const RESERVED = new Set([
  'AS',
  'ON',
  'USING',
  'WHERE',
  'SET',
  'FROM',
  'INTO',
  'VALUES',
  'VALUE',
  'SELECT',
  'WITH',
  'TABLE',
  'TABLES',
  'JOIN',
  'STRAIGHT_JOIN',
  'INNER',
  'LEFT',
  'RIGHT',
  'CROSS',
  'NATURAL',
  'OUTER',
  'FULL',
  'ORDER',
  'GROUP',
  'HAVING',
  'LIMIT',
  'UNION',
  'EXCEPT',
  'INTERSECT',
  'WINDOW',
  'FOR',
  'LOCK',
  'PROCEDURE',
  'RETURNING',
  'PARTITION',
  'USE',
  'IGNORE',
  'FORCE',
  'TO',
  'READ',
  'WRITE',
  'LOCAL',
  'LOW_PRIORITY',
  'HIGH_PRIORITY',
  'DELAYED',
  'QUICK',
  'DUAL',
  'LATERAL',
  'IF',
  'NOT',
  'EXISTS',
  'LIKE',
  'DEFAULT',
  'OFFSET',
  'FETCH',
  'UPDATE',
  'DELETE',
  'INSERT',
  'REPLACE',
  'OUTFILE',
  'DUMPFILE',
  'CHARACTER',
  'FIELDS',
  'COLUMNS',
  'LINES',
  'INDEX',
  'KEY',
  'WAIT',
  'NOWAIT',
  'SKIP',
  'UNLOCK',
  'WHEN',
  'THEN',
  'ELSE',
  'END',
  'AND',
  'OR',
  'XOR',
  'IS',
  'NULL',
  'IN',
  'BETWEEN',
  'DO',
  'EACH',
  'ROW',
  'BEFORE',
  'AFTER',
  'ADD',
  'DROP',
  'ALTER',
  'CHANGE',
  'MODIFY',
  'RENAME',
  'ENGINE',
  'CASCADE',
  'RESTRICT',
  'FOREIGN',
  'PRIMARY',
  'UNIQUE',
  'CONSTRAINT',
  'CHECK',
]);

/** A `(` right after one of these opens a subquery or table list, not a function call. */
const QUERY_PAREN_AFTER = new Set([
  'FROM',
  'JOIN',
  'STRAIGHT_JOIN',
  'IN',
  'EXISTS',
  'ANY',
  'SOME',
  'ALL',
  'AS',
  'ON',
  'WHERE',
  'AND',
  'OR',
  'NOT',
  'SELECT',
  'UNION',
  'EXCEPT',
  'INTERSECT',
  'INTO',
  'VALUES',
  'VALUE',
  'USING',
  'LATERAL',
  'SET',
  'WHEN',
  'THEN',
  'ELSE',
  'HAVING',
  'BY',
  'WITH',
  'RETURN',
  'IS',
  'XOR',
  'CASE',
  'TABLE',
]);

/** Words after which a list of table references follows. */
const LIST_TRIGGERS = new Set(['FROM', 'TABLE', 'TABLES']);
/** Words after which one table reference follows. */
const ONE_TRIGGERS = new Set(['JOIN', 'STRAIGHT_JOIN']);
/** Modifiers that may stand before a table name. */
const NAME_PREFIXES = new Set([
  'IF',
  'NOT',
  'EXISTS',
  'LOW_PRIORITY',
  'DELAYED',
  'HIGH_PRIORITY',
  'IGNORE',
  'QUICK',
  'ONLY',
]);

export interface TableScan {
  /** Read one table list starting at this token index (e.g. after UPDATE's modifiers). */
  readonly listAt?: number;
  /** Treat `ON name` as a table reference (CREATE INDEX, CREATE TRIGGER, GRANT). */
  readonly onIsTable?: boolean;
  /** Treat `INTO name` as a table reference (INSERT, REPLACE, LOAD DATA). */
  readonly intoIsTable?: boolean;
}

/** Table names in `tokens` (as written, without back-quotes), in order of appearance. */
export function collectTables(
  text: string,
  tokens: readonly Token[],
  scan: TableScan = {},
): string[] {
  const tables: string[] = [];
  const add = (name: string): void => {
    if (!tables.includes(name)) tables.push(name);
  };
  const names = { text, tokens, add };
  if (scan.listAt !== undefined) readList(names, scan.listAt);
  const calls: boolean[] = [];
  for (let i = 0; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token === undefined) break;
    if (token.kind === 'punct') {
      if (token.upper === '(') {
        const before = tokens[i - 1];
        calls.push(
          before !== undefined &&
            (before.kind === 'word' || before.kind === 'quoted') &&
            !QUERY_PAREN_AFTER.has(before.upper),
        );
      } else if (token.upper === ')') {
        calls.pop();
      }
      continue;
    }
    if (token.kind !== 'word') continue;
    const word = token.upper;
    // REFERENCES appears only in table definitions, inside their column list.
    if (word === 'REFERENCES') readName(names, i + 1);
    if (calls[calls.length - 1] === true) continue;
    if (LIST_TRIGGERS.has(word)) readList(names, i + 1);
    else if (ONE_TRIGGERS.has(word)) readName(names, i + 1);
    else if (word === 'ON' && scan.onIsTable === true) readName(names, i + 1);
    else if (word === 'INTO' && scan.intoIsTable === true) readName(names, i + 1);
  }
  return tables;
}

/** Where names are read from and collected to. */
export interface NameSink {
  readonly text: string;
  readonly tokens: readonly Token[];
  readonly add: (name: string) => void;
}

/** Reads `[modifiers] name[.name]` at `index`; returns the index after it, or -1. */
export function readName(names: NameSink, index: number): number {
  const { text, tokens } = names;
  let i = index;
  while (tokens[i]?.kind === 'word' && NAME_PREFIXES.has(tokens[i]?.upper ?? '')) i += 1;
  const first = tokens[i];
  if (!isName(first)) return -1;
  let name = nameOf(text, first);
  i += 1;
  while (tokens[i]?.kind === 'punct' && tokens[i]?.upper === '.') {
    const part = tokens[i + 1];
    if (part?.kind === 'punct' && part.upper === '*') name += '.*';
    else if (part !== undefined && (part.kind === 'word' || part.kind === 'quoted'))
      name += `.${nameOf(text, part)}`;
    else break;
    i += 2;
  }
  names.add(name);
  return i;
}

/** Reads `name [[AS] alias] [PARTITION (…)] [index hints] [READ|WRITE] [TO name], …`. */
function readList(names: NameSink, index: number): void {
  const tokens = names.tokens;
  let i = readName(names, index);
  while (i >= 0) {
    let token = tokens[i];
    if (token?.kind === 'word' && token.upper === 'TO') {
      i = readName(names, i + 1);
      continue;
    }
    if (token?.kind === 'word' && token.upper === 'AS') i += 1;
    token = tokens[i];
    if (
      token !== undefined &&
      (token.kind === 'quoted' || (token.kind === 'word' && !RESERVED.has(token.upper)))
    )
      i += 1;
    i = skipHints(tokens, i);
    token = tokens[i];
    if (token?.kind !== 'punct' || token.upper !== ',') return;
    i = readName(names, i + 1);
  }
}

/** Skips PARTITION (…), USE/IGNORE/FORCE INDEX|KEY [FOR …] (…), and lock modes. */
function skipHints(tokens: readonly Token[], index: number): number {
  let i = index;
  for (;;) {
    const word = tokens[i]?.kind === 'word' ? tokens[i]?.upper : undefined;
    if (word === 'READ' || word === 'WRITE' || word === 'LOCAL' || word === 'LOW_PRIORITY') {
      i += 1;
    } else if (word === 'PARTITION' || word === 'USE' || word === 'IGNORE' || word === 'FORCE') {
      while (i < tokens.length && !(tokens[i]?.kind === 'punct' && tokens[i]?.upper === '('))
        i += 1;
      i = skipParens(tokens, i);
    } else {
      return i;
    }
  }
}

function skipParens(tokens: readonly Token[], index: number): number {
  let depth = 0;
  for (let i = index; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token?.kind !== 'punct') continue;
    if (token.upper === '(') depth += 1;
    else if (token.upper === ')' && --depth === 0) return i + 1;
  }
  return tokens.length;
}

function isName(token: Token | undefined): token is Token {
  if (token === undefined) return false;
  if (token.kind === 'quoted') return true;
  return token.kind === 'word' && !RESERVED.has(token.upper);
}

/** A name as written: back-quoted names unquoted, plain words in their original case. */
function nameOf(text: string, token: Token): string {
  return token.kind === 'quoted' ? token.upper : text.slice(token.start, token.end);
}
