import type { SqlClass } from '../../policy/action.js';
import type { Token } from './lexer.js';
import type { Statement } from './split.js';
import { collectTables, readName } from './tables.js';
import type { TableScan } from './tables.js';

/**
 * A conservative statement classifier for MySQL/MariaDB: the first keyword(s) decide the
 * class, a few shapes are looked into (WITH … SELECT, SELECT … INTO OUTFILE, EXPLAIN
 * ANALYZE, SET …), and anything it is not sure of is `unknown` — which policy treats as
 * most privileged. Server administration (KILL, SHUTDOWN, SET GLOBAL, replication, plugins)
 * has no class of its own and is `unknown` on purpose.
 */

export interface Classification {
  readonly sqlClass: SqlClass;
  /** Upper-case statement keyword(s), e.g. SELECT, CREATE TABLE, START TRANSACTION. */
  readonly operation: string;
  readonly tables: readonly string[];
  /** For USE: the database it switches to. */
  readonly database?: string;
}

const READ_WORDS = new Set([
  'SELECT',
  'TABLE',
  'VALUES',
  'SHOW',
  'HELP',
  'DO',
  'HANDLER',
  'CHECKSUM',
]);
const WRITE_WORDS = new Set(['INSERT', 'REPLACE', 'UPDATE', 'DELETE', 'LOAD']);
const DDL_VERBS = new Set(['CREATE', 'ALTER', 'DROP', 'RENAME', 'TRUNCATE']);
const TCL_WORDS = new Set([
  'BEGIN',
  'COMMIT',
  'ROLLBACK',
  'SAVEPOINT',
  'RELEASE',
  'XA',
  'LOCK',
  'UNLOCK',
]);
const OTHER_WORDS = new Set(['PREPARE', 'DEALLOCATE', 'SIGNAL', 'RESIGNAL', 'GET']);
/** Administration: no class fits, so unknown (most privileged). */
const ADMIN_WORDS = new Set([
  'KILL',
  'SHUTDOWN',
  'RESTART',
  'FLUSH',
  'RESET',
  'PURGE',
  'INSTALL',
  'UNINSTALL',
  'CHANGE',
  'STOP',
  'BINLOG',
  'CACHE',
  'CLONE',
  'IMPORT',
  'OPTIMIZE',
  'REPAIR',
  'BACKUP',
  'CALL',
  'EXECUTE',
  'CHECK',
]);
/** Object kinds after CREATE/ALTER/DROP/RENAME; USER and ROLE make it DCL. */
const OBJECTS = new Set([
  'TABLE',
  'TABLES',
  'VIEW',
  'INDEX',
  'DATABASE',
  'SCHEMA',
  'PROCEDURE',
  'FUNCTION',
  'TRIGGER',
  'EVENT',
  'USER',
  'ROLE',
  'SERVER',
  'TABLESPACE',
  'LOGFILE',
  'SEQUENCE',
  'PACKAGE',
  'INSTANCE',
  'PREPARE',
  'RESOURCE',
  'SPATIAL',
]);
const DCL_OBJECTS = new Set(['USER', 'ROLE']);
/** Words that may sit between the verb and the object kind (CREATE OR REPLACE DEFINER=… VIEW). */
const DDL_MODIFIERS = new Set([
  'OR',
  'REPLACE',
  'TEMPORARY',
  'ONLINE',
  'OFFLINE',
  'IGNORE',
  'UNIQUE',
  'FULLTEXT',
  'DEFINER',
  'ALGORITHM',
  'SQL',
  'SECURITY',
  'INVOKER',
  'AGGREGATE',
  'UNDEFINED',
  'MERGE',
  'TEMPTABLE',
  'CURRENT_USER',
  'IF',
  'NOT',
  'EXISTS',
  'EXTERNAL',
  'UNDO',
  'NO_WRITE_TO_BINLOG',
  'LOCAL',
]);

const unknown = (operation: string, tables: readonly string[] = []): Classification => ({
  sqlClass: 'unknown',
  operation,
  tables,
});

/** Classifies one statement; both lexings must agree, uncertain splits are unknown. */
export function classifyStatement(statement: Statement): Classification {
  const main = classifyTokens(statement.text, statement.tokens);
  if (statement.uncertain) return unknown(main.operation, main.tables);
  if (statement.alternative !== undefined) {
    const other = classifyTokens(statement.text, statement.alternative);
    const tables = [...new Set([...main.tables, ...other.tables])];
    if (
      other.sqlClass !== main.sqlClass ||
      other.operation !== main.operation ||
      tables.length !== main.tables.length
    ) {
      return unknown(main.operation, tables);
    }
  }
  return main;
}

/** Classifies the tokens of one statement. */
export function classifyTokens(text: string, tokens: readonly Token[]): Classification {
  let start = 0;
  // `(SELECT …) UNION (SELECT …)`
  while (tokens[start]?.kind === 'punct' && tokens[start]?.upper === '(') start += 1;
  const first = tokens[start];
  if (first?.kind !== 'word') return unknown('');
  const word = first.upper;
  const second = tokens[start + 1];
  const secondWord = second?.kind === 'word' ? second.upper : '';
  const tables = (scan?: TableScan): string[] => collectTables(text, tokens, scan);

  if (word === 'WITH') return classifyWith(text, tokens);
  if (word === 'SELECT') {
    const intoFile = tokens.some(
      (t, i) => t.upper === 'INTO' && ['OUTFILE', 'DUMPFILE'].includes(tokens[i + 1]?.upper ?? ''),
    );
    return { sqlClass: intoFile ? 'write' : 'read', operation: 'SELECT', tables: tables() };
  }
  if (word === 'EXPLAIN' || word === 'DESCRIBE' || word === 'DESC' || word === 'ANALYZE') {
    return classifyExplain(text, tokens, start, word);
  }
  if (word === 'SHOW')
    return { sqlClass: 'read', operation: 'SHOW', tables: showTables(text, tokens, start) };
  if (READ_WORDS.has(word)) {
    const own = word === 'HANDLER' ? nameAt(text, tokens, start + 1) : tables();
    return { sqlClass: 'read', operation: word, tables: own };
  }
  if (WRITE_WORDS.has(word)) return classifyWrite(text, tokens, start, word);
  if (DDL_VERBS.has(word)) return classifyDdl(text, tokens, start, word);
  if (word === 'GRANT' || word === 'REVOKE')
    return { sqlClass: 'dcl', operation: word, tables: tables({ onIsTable: true }) };
  if (word === 'SET') return classifySet(text, tokens, start);
  if (word === 'START') {
    if (secondWord === 'TRANSACTION')
      return { sqlClass: 'tcl', operation: 'START TRANSACTION', tables: [] };
    return unknown(`START ${secondWord}`.trim());
  }
  if (TCL_WORDS.has(word)) {
    const operation = word === 'LOCK' || word === 'UNLOCK' ? `${word} ${secondWord}`.trim() : word;
    return { sqlClass: 'tcl', operation, tables: word === 'LOCK' ? tables() : [] };
  }
  if (word === 'USE') {
    const database = nameAt(text, tokens, start + 1)[0];
    return {
      sqlClass: 'other',
      operation: 'USE',
      tables: [],
      ...(database !== undefined ? { database } : {}),
    };
  }
  if (OTHER_WORDS.has(word)) return { sqlClass: 'other', operation: word, tables: [] };
  if (ADMIN_WORDS.has(word)) return unknown(word, tables());
  return unknown(word);
}

/** WITH [RECURSIVE] cte AS (…), … then the main statement at depth 0 decides. */
function classifyWith(text: string, tokens: readonly Token[]): Classification {
  let depth = 0;
  for (let i = 1; i < tokens.length; i += 1) {
    const token = tokens[i];
    if (token?.kind === 'punct') {
      if (token.upper === '(') depth += 1;
      else if (token.upper === ')') depth -= 1;
      continue;
    }
    if (depth !== 0 || token?.kind !== 'word') continue;
    if (token.upper === 'SELECT' || token.upper === 'TABLE' || token.upper === 'VALUES') {
      const inner = classifyTokens(text, tokens.slice(i));
      return { ...inner, tables: collectTables(text, tokens) };
    }
    if (WRITE_WORDS.has(token.upper)) {
      const inner = classifyWrite(text, tokens, i, token.upper);
      return { ...inner, tables: [...new Set([...collectTables(text, tokens), ...inner.tables])] };
    }
  }
  return unknown('WITH', collectTables(text, tokens));
}

function classifyWrite(
  text: string,
  tokens: readonly Token[],
  start: number,
  word: string,
): Classification {
  if (word === 'LOAD') {
    const kind = tokens[start + 1]?.upper ?? '';
    return {
      sqlClass: 'write',
      operation: `LOAD ${kind}`.trim(),
      tables: collectTables(text, tokens, { intoIsTable: true }),
    };
  }
  if (word === 'UPDATE') {
    return {
      sqlClass: 'write',
      operation: 'UPDATE',
      tables: collectTables(text, tokens, { listAt: start + 1 }),
    };
  }
  if (word === 'INSERT' || word === 'REPLACE') {
    // INSERT [LOW_PRIORITY|DELAYED|HIGH_PRIORITY] [IGNORE] [INTO] name
    let i = start + 1;
    if (tokens[i]?.upper !== 'INTO') {
      while (
        ['LOW_PRIORITY', 'DELAYED', 'HIGH_PRIORITY', 'IGNORE'].includes(tokens[i]?.upper ?? '')
      )
        i += 1;
    }
    const scan: TableScan =
      tokens[i]?.upper === 'INTO' ? { intoIsTable: true } : { listAt: i, intoIsTable: true };
    return { sqlClass: 'write', operation: word, tables: collectTables(text, tokens, scan) };
  }
  return { sqlClass: 'write', operation: word, tables: collectTables(text, tokens) };
}

/** CREATE/ALTER/DROP/RENAME/TRUNCATE [modifiers] object …; USER and ROLE are DCL. */
function classifyDdl(
  text: string,
  tokens: readonly Token[],
  start: number,
  verb: string,
): Classification {
  let i = start + 1;
  while (i < tokens.length) {
    const token = tokens[i];
    if (token?.kind === 'word' && OBJECTS.has(token.upper)) break;
    // DEFINER = user, ALGORITHM = x and their punctuation are skipped; anything else ends the search.
    if (token?.kind === 'word' && !DDL_MODIFIERS.has(token.upper) && tokens[i - 1]?.upper !== '=')
      break;
    i += 1;
  }
  const object =
    tokens[i]?.kind === 'word' && OBJECTS.has(tokens[i]?.upper ?? '')
      ? (tokens[i]?.upper ?? '')
      : '';
  if (verb === 'TRUNCATE') {
    const at = object === 'TABLE' ? i + 1 : start + 1;
    return { sqlClass: 'ddl', operation: 'TRUNCATE TABLE', tables: nameAt(text, tokens, at) };
  }
  if (object === '')
    return { sqlClass: 'ddl', operation: verb, tables: collectTables(text, tokens) };
  if (object === 'PREPARE')
    return { sqlClass: 'other', operation: 'DEALLOCATE PREPARE', tables: [] };
  const operation = `${verb} ${object}`;
  if (DCL_OBJECTS.has(object)) return { sqlClass: 'dcl', operation, tables: [] };
  if (object === 'DATABASE' || object === 'SCHEMA')
    return { sqlClass: 'ddl', operation, tables: [] };
  const onIsTable = object === 'INDEX' || object === 'TRIGGER';
  const named = object === 'VIEW' || object === 'SEQUENCE' ? nameAt(text, tokens, i + 1) : [];
  const scanned = collectTables(text, tokens, { onIsTable });
  return { sqlClass: 'ddl', operation, tables: [...new Set([...named, ...scanned])] };
}

/** EXPLAIN/DESCRIBE show plans; with ANALYZE (and MariaDB's ANALYZE stmt) the statement runs. */
function classifyExplain(
  text: string,
  tokens: readonly Token[],
  start: number,
  word: string,
): Classification {
  let i = start + 1;
  const analyze = word === 'ANALYZE' || tokens[i]?.upper === 'ANALYZE';
  if (word !== 'ANALYZE' && analyze) i += 1;
  // FORMAT = x, EXTENDED, PARTITIONS
  while (
    ['FORMAT', '=', 'JSON', 'TREE', 'TRADITIONAL', 'EXTENDED', 'PARTITIONS'].includes(
      tokens[i]?.upper ?? '',
    )
  )
    i += 1;
  const next = tokens[i];
  if (
    word === 'ANALYZE' &&
    (next?.upper === 'TABLE' || next?.upper === 'NO_WRITE_TO_BINLOG' || next?.upper === 'LOCAL')
  ) {
    return { sqlClass: 'other', operation: 'ANALYZE TABLE', tables: collectTables(text, tokens) };
  }
  if (
    next?.kind === 'word' &&
    (next.upper === 'SELECT' ||
      next.upper === 'WITH' ||
      WRITE_WORDS.has(next.upper) ||
      next.upper === 'TABLE')
  ) {
    const inner = classifyTokens(text, tokens.slice(i));
    const operation = analyze ? `${word === 'ANALYZE' ? 'ANALYZE' : `${word} ANALYZE`}` : word;
    // A plan alone reads; an analyzed statement does what the statement does.
    return { sqlClass: analyze ? inner.sqlClass : 'read', operation, tables: inner.tables };
  }
  if (next?.kind === 'word' && next.upper === 'FOR')
    return { sqlClass: 'read', operation: word, tables: [] };
  if (analyze) return unknown(word);
  return { sqlClass: 'read', operation: word, tables: nameAt(text, tokens, i) };
}

/** SET: session variables are other; TRANSACTION tcl; PASSWORD and ROLE dcl; global state unknown. */
function classifySet(text: string, tokens: readonly Token[], start: number): Classification {
  const second = tokens[start + 1]?.upper ?? '';
  if (second === 'PASSWORD') return { sqlClass: 'dcl', operation: 'SET PASSWORD', tables: [] };
  if (second === 'ROLE' || (second === 'DEFAULT' && tokens[start + 2]?.upper === 'ROLE')) {
    return {
      sqlClass: 'dcl',
      operation: second === 'ROLE' ? 'SET ROLE' : 'SET DEFAULT ROLE',
      tables: [],
    };
  }
  if (second === 'STATEMENT') {
    // MariaDB SET STATEMENT var=value [, …] FOR statement: the statement decides.
    const forAt = tokens.findIndex(
      (t, i) => i > start + 1 && t.kind === 'word' && t.upper === 'FOR',
    );
    if (forAt < 0) return unknown('SET STATEMENT');
    return classifyTokens(text, tokens.slice(forAt + 1));
  }
  const global = tokens.some(
    (t) =>
      (t.kind === 'word' &&
        (t.upper === 'GLOBAL' || t.upper === 'PERSIST' || t.upper === 'PERSIST_ONLY')) ||
      (t.kind === 'variable' && /^@@(GLOBAL|PERSIST|PERSIST_ONLY)\./.test(t.upper)),
  );
  if (second === 'TRANSACTION' || tokens[start + 2]?.upper === 'TRANSACTION') {
    return global
      ? unknown('SET TRANSACTION')
      : { sqlClass: 'tcl', operation: 'SET TRANSACTION', tables: [] };
  }
  if (global) return unknown('SET');
  return { sqlClass: 'other', operation: 'SET', tables: collectTables(text, tokens) };
}

/** SHOW COLUMNS|INDEX … FROM t, SHOW CREATE TABLE t: the one table named. */
function showTables(text: string, tokens: readonly Token[], start: number): string[] {
  let i = start + 1;
  if (tokens[i]?.upper === 'FULL' || tokens[i]?.upper === 'EXTENDED') i += 1;
  const what = tokens[i]?.upper ?? '';
  if (['COLUMNS', 'FIELDS', 'INDEX', 'INDEXES', 'KEYS'].includes(what)) {
    const from = tokens.findIndex((t, j) => j > i && (t.upper === 'FROM' || t.upper === 'IN'));
    return from < 0 ? [] : nameAt(text, tokens, from + 1);
  }
  if (what === 'CREATE' && tokens[i + 1]?.upper === 'TABLE') return nameAt(text, tokens, i + 2);
  return [];
}

function nameAt(text: string, tokens: readonly Token[], index: number): string[] {
  const names: string[] = [];
  readName({ text, tokens, add: (name) => names.push(name) }, index);
  return names;
}
