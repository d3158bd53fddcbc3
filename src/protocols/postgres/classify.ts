/**
 * Statement classification with PostgreSQL's own parser (libpg-query, WASM): class,
 * operation and tables of every statement in a text, cached by text.
 */
import { loadModule, parseSync } from 'libpg-query';
import { LRUCache } from 'lru-cache';
import type { SqlClass } from '../../policy/action.js';

/** One statement of a query text, as policy and the record see it. */
export interface ClassifiedStatement {
  /** The statement's own text (trimmed), cut from the query at the parser's locations. */
  readonly text: string;
  readonly sqlClass: SqlClass;
  /** Upper-case keyword(s), e.g. SELECT, INSERT, CREATE TABLE. */
  readonly operation: string;
  /** Relations named, `schema.name` when qualified, in order of appearance. */
  readonly tables: readonly string[];
}

let ready = false;
let loading: Promise<void> | null = null;

/** Loads the parser's WASM module once; await it before the first connection. */
export function initPostgresClassifier(): Promise<void> {
  loading ??= loadModule().then(() => {
    ready = true;
  });
  return loading;
}

/** Texts up to this many UTF-16 units in total are kept (about 32 MiB). */
const CACHE_MAX_SIZE = 16 * 1024 * 1024;
const cache = new LRUCache<string, readonly ClassifiedStatement[]>({
  max: 4096,
  maxSize: CACHE_MAX_SIZE,
  sizeCalculation: (_value, key) => Math.max(1, key.length),
});

/**
 * Splits `sql` into statements and classifies each; an empty text gives none, a text the
 * parser refuses (or any text before initPostgresClassifier resolved) gives one `unknown`.
 */
export function classifySql(sql: string): readonly ClassifiedStatement[] {
  const cached = cache.get(sql);
  if (cached !== undefined) return cached;
  const result = classifyUncached(sql);
  if (ready) cache.set(sql, result);
  return result;
}

function classifyUncached(sql: string): readonly ClassifiedStatement[] {
  if (sql.trim() === '') return [];
  if (!ready) return [unparsed(sql)];
  let stmts: readonly unknown[];
  try {
    stmts = parseSync(sql).stmts ?? [];
  } catch {
    return [unparsed(sql)];
  }
  if (stmts.length === 1) return [classifyRaw(stmts[0], sql.trim())];
  // stmt_location / stmt_len are byte offsets into the UTF-8 text (0 length: to the end).
  const bytes = Buffer.from(sql, 'utf8');
  return stmts.map((raw) => {
    const location = numberField(raw, 'stmt_location') ?? 0;
    const length = numberField(raw, 'stmt_len') ?? 0;
    const end = length === 0 ? bytes.length : location + length;
    return classifyRaw(raw, bytes.toString('utf8', location, end).trim());
  });
}

function unparsed(sql: string): ClassifiedStatement {
  const word = /^\s*([A-Za-z]+)/.exec(sql)?.[1];
  return {
    text: sql.trim(),
    sqlClass: 'unknown',
    operation: word === undefined ? 'UNKNOWN' : word.toUpperCase(),
    tables: [],
  };
}

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function numberField(value: unknown, key: string): number | undefined {
  if (!isRecord(value)) return undefined;
  const field = value[key];
  return typeof field === 'number' ? field : undefined;
}

function stringField(value: Json, key: string): string | undefined {
  const field = value[key];
  return typeof field === 'string' ? field : undefined;
}

/** The single `{ NodeType: body }` entry of a parse-tree node. */
function nodeOf(value: unknown): [string, Json] | null {
  if (!isRecord(value)) return null;
  for (const key in value) {
    const body = value[key];
    return isRecord(body) ? [key, body] : null;
  }
  return null;
}

function classifyRaw(raw: unknown, text: string): ClassifiedStatement {
  const node = nodeOf(isRecord(raw) ? raw.stmt : undefined);
  if (node === null) return unparsed(text);
  const [kind, body] = node;
  const { sqlClass, operation } = classifyNode(kind, body);
  return { text, sqlClass, operation, tables: tablesOf(body) };
}

interface ClassAndOperation {
  readonly sqlClass: SqlClass;
  readonly operation: string;
}

const TRANSACTION_OPERATIONS: Readonly<Record<string, string>> = {
  TRANS_STMT_BEGIN: 'BEGIN',
  TRANS_STMT_START: 'START TRANSACTION',
  TRANS_STMT_COMMIT: 'COMMIT',
  TRANS_STMT_ROLLBACK: 'ROLLBACK',
  TRANS_STMT_SAVEPOINT: 'SAVEPOINT',
  TRANS_STMT_RELEASE: 'RELEASE',
  TRANS_STMT_ROLLBACK_TO: 'ROLLBACK TO SAVEPOINT',
  TRANS_STMT_PREPARE: 'PREPARE TRANSACTION',
  TRANS_STMT_COMMIT_PREPARED: 'COMMIT PREPARED',
  TRANS_STMT_ROLLBACK_PREPARED: 'ROLLBACK PREPARED',
};

/** Fixed answers by node type; the rest is decided in classifyNode. */
const FIXED: Readonly<Record<string, ClassAndOperation>> = {
  InsertStmt: { sqlClass: 'write', operation: 'INSERT' },
  UpdateStmt: { sqlClass: 'write', operation: 'UPDATE' },
  DeleteStmt: { sqlClass: 'write', operation: 'DELETE' },
  MergeStmt: { sqlClass: 'write', operation: 'MERGE' },
  TruncateStmt: { sqlClass: 'write', operation: 'TRUNCATE' },
  RefreshMatViewStmt: { sqlClass: 'write', operation: 'REFRESH MATERIALIZED VIEW' },
  VariableShowStmt: { sqlClass: 'other', operation: 'SHOW' },
  ClosePortalStmt: { sqlClass: 'other', operation: 'CLOSE' },
  DeallocateStmt: { sqlClass: 'other', operation: 'DEALLOCATE' },
  // EXECUTE runs a statement PREPAREd on this connection, which was classified then.
  ExecuteStmt: { sqlClass: 'other', operation: 'EXECUTE' },
  LockStmt: { sqlClass: 'other', operation: 'LOCK' },
  CheckPointStmt: { sqlClass: 'other', operation: 'CHECKPOINT' },
  DiscardStmt: { sqlClass: 'other', operation: 'DISCARD' },
  ListenStmt: { sqlClass: 'other', operation: 'LISTEN' },
  UnlistenStmt: { sqlClass: 'other', operation: 'UNLISTEN' },
  NotifyStmt: { sqlClass: 'other', operation: 'NOTIFY' },
  ClusterStmt: { sqlClass: 'other', operation: 'CLUSTER' },
  ReindexStmt: { sqlClass: 'other', operation: 'REINDEX' },
  ConstraintsSetStmt: { sqlClass: 'tcl', operation: 'SET CONSTRAINTS' },
  // Run arbitrary server-side code: treated as the most privileged class.
  DoStmt: { sqlClass: 'unknown', operation: 'DO' },
  CallStmt: { sqlClass: 'unknown', operation: 'CALL' },
  LoadStmt: { sqlClass: 'unknown', operation: 'LOAD' },
  CreateRoleStmt: { sqlClass: 'dcl', operation: 'CREATE ROLE' },
  AlterRoleStmt: { sqlClass: 'dcl', operation: 'ALTER ROLE' },
  AlterRoleSetStmt: { sqlClass: 'dcl', operation: 'ALTER ROLE' },
  DropRoleStmt: { sqlClass: 'dcl', operation: 'DROP ROLE' },
  GrantRoleStmt: { sqlClass: 'dcl', operation: 'GRANT' },
  AlterDefaultPrivilegesStmt: { sqlClass: 'dcl', operation: 'ALTER DEFAULT PRIVILEGES' },
  ReassignOwnedStmt: { sqlClass: 'dcl', operation: 'REASSIGN OWNED' },
  DropOwnedStmt: { sqlClass: 'ddl', operation: 'DROP OWNED' },
  CreateStmt: { sqlClass: 'ddl', operation: 'CREATE TABLE' },
  IndexStmt: { sqlClass: 'ddl', operation: 'CREATE INDEX' },
  ViewStmt: { sqlClass: 'ddl', operation: 'CREATE VIEW' },
  CreatedbStmt: { sqlClass: 'ddl', operation: 'CREATE DATABASE' },
  DropdbStmt: { sqlClass: 'ddl', operation: 'DROP DATABASE' },
  AlterDatabaseStmt: { sqlClass: 'ddl', operation: 'ALTER DATABASE' },
  AlterDatabaseSetStmt: { sqlClass: 'ddl', operation: 'ALTER DATABASE' },
  RuleStmt: { sqlClass: 'ddl', operation: 'CREATE RULE' },
  CreateTrigStmt: { sqlClass: 'ddl', operation: 'CREATE TRIGGER' },
  CompositeTypeStmt: { sqlClass: 'ddl', operation: 'CREATE TYPE' },
  CreateEnumStmt: { sqlClass: 'ddl', operation: 'CREATE TYPE' },
  CreateRangeStmt: { sqlClass: 'ddl', operation: 'CREATE TYPE' },
  CreateSeqStmt: { sqlClass: 'ddl', operation: 'CREATE SEQUENCE' },
  CreateSchemaStmt: { sqlClass: 'ddl', operation: 'CREATE SCHEMA' },
  CommentStmt: { sqlClass: 'ddl', operation: 'COMMENT' },
  SecLabelStmt: { sqlClass: 'ddl', operation: 'SECURITY LABEL' },
  AlterSystemStmt: { sqlClass: 'ddl', operation: 'ALTER SYSTEM' },
};

/** `OBJECT_MATVIEW` → `MATERIALIZED VIEW`, `OBJECT_FOREIGN_TABLE` → `FOREIGN TABLE`. */
function objectName(objtype: string | undefined): string {
  if (objtype === undefined) return '';
  const name = objtype.replace(/^OBJECT_/, '');
  if (name === 'MATVIEW') return 'MATERIALIZED VIEW';
  return name.replace(/_/g, ' ');
}

function withObject(verb: string, objtype: string | undefined): string {
  const name = objectName(objtype);
  return name === '' ? verb : `${verb} ${name}`;
}

/** `CreateExtensionStmt` → `CREATE EXTENSION`. */
function operationFromKind(kind: string): string {
  return kind
    .replace(/Stmt$/, '')
    .replace(/([a-z])([A-Z])/g, '$1 $2')
    .toUpperCase();
}

function classifyNode(kind: string, body: Json): ClassAndOperation {
  const fixed = FIXED[kind];
  if (fixed !== undefined) return fixed;
  switch (kind) {
    case 'SelectStmt':
      if (body.intoClause !== undefined) return { sqlClass: 'ddl', operation: 'SELECT INTO' };
      return { sqlClass: modifiesData(body) ? 'write' : 'read', operation: 'SELECT' };
    case 'CopyStmt': {
      // COPY to or from a server file or program acts outside the database: most privileged.
      if (body.filename !== undefined || body.is_program === true)
        return { sqlClass: 'unknown', operation: 'COPY' };
      if (body.is_from === true) return { sqlClass: 'write', operation: 'COPY' };
      return {
        sqlClass: body.query !== undefined && modifiesData(body) ? 'write' : 'read',
        operation: 'COPY',
      };
    }
    case 'ExplainStmt': {
      // EXPLAIN ANALYZE runs the statement, so it takes the statement's class.
      const inner = nodeOf(body.query);
      if (inner !== null && hasOption(body.options, 'analyze')) {
        return { sqlClass: classifyNode(inner[0], inner[1]).sqlClass, operation: 'EXPLAIN' };
      }
      return { sqlClass: 'read', operation: 'EXPLAIN' };
    }
    case 'PrepareStmt':
    case 'DeclareCursorStmt': {
      // The class of what will run; EXECUTE / FETCH then need nothing more.
      const inner = nodeOf(body.query);
      const sqlClass = inner === null ? 'unknown' : classifyNode(inner[0], inner[1]).sqlClass;
      return { sqlClass, operation: kind === 'PrepareStmt' ? 'PREPARE' : 'DECLARE CURSOR' };
    }
    case 'FetchStmt':
      return { sqlClass: 'read', operation: body.ismove === true ? 'MOVE' : 'FETCH' };
    case 'TransactionStmt':
      return {
        sqlClass: 'tcl',
        operation: TRANSACTION_OPERATIONS[stringField(body, 'kind') ?? ''] ?? 'TRANSACTION',
      };
    case 'VariableSetStmt': {
      const name = stringField(body, 'name');
      const operation =
        stringField(body, 'kind') === 'VAR_SET_VALUE' ||
        stringField(body, 'kind') === 'VAR_SET_CURRENT'
          ? 'SET'
          : 'RESET';
      // SET ROLE / SET SESSION AUTHORIZATION change whose privileges apply.
      if (name === 'role' || name === 'session_authorization')
        return { sqlClass: 'dcl', operation };
      return { sqlClass: 'other', operation };
    }
    case 'VacuumStmt':
      return { sqlClass: 'other', operation: body.is_vacuumcmd === true ? 'VACUUM' : 'ANALYZE' };
    case 'GrantStmt':
      return { sqlClass: 'dcl', operation: body.is_grant === true ? 'GRANT' : 'REVOKE' };
    case 'CreateTableAsStmt':
      return {
        sqlClass: 'ddl',
        operation:
          stringField(body, 'objtype') === 'OBJECT_MATVIEW'
            ? 'CREATE MATERIALIZED VIEW'
            : 'CREATE TABLE AS',
      };
    case 'CreateFunctionStmt':
      return {
        sqlClass: 'ddl',
        operation: body.is_procedure === true ? 'CREATE PROCEDURE' : 'CREATE FUNCTION',
      };
    case 'DefineStmt':
      return { sqlClass: 'ddl', operation: withObject('CREATE', stringField(body, 'kind')) };
    case 'DropStmt':
      return { sqlClass: 'ddl', operation: withObject('DROP', stringField(body, 'removeType')) };
    case 'AlterTableStmt':
      return { sqlClass: 'ddl', operation: withObject('ALTER', stringField(body, 'objtype')) };
    case 'RenameStmt': {
      const type = stringField(body, 'renameType');
      return {
        sqlClass: type === 'OBJECT_ROLE' ? 'dcl' : 'ddl',
        operation: withObject('ALTER', type),
      };
    }
    case 'AlterOwnerStmt':
    case 'AlterObjectSchemaStmt':
      return { sqlClass: 'ddl', operation: withObject('ALTER', stringField(body, 'objectType')) };
    default:
      if (/^(Create|Alter|Drop|Define|Import)/.test(kind))
        return { sqlClass: 'ddl', operation: operationFromKind(kind) };
      return { sqlClass: 'unknown', operation: operationFromKind(kind) };
  }
}

function hasOption(options: unknown, name: string): boolean {
  if (!Array.isArray(options)) return false;
  return options.some((option) => {
    const node = nodeOf(option);
    if (node === null || node[0] !== 'DefElem' || stringField(node[1], 'defname') !== name)
      return false;
    // `ANALYZE false` is written as a Boolean argument; a bare ANALYZE has none.
    const arg = nodeOf(node[1].arg);
    return arg === null || arg[0] !== 'Boolean' || arg[1].boolval === true;
  });
}

const DATA_MODIFYING = new Set(['InsertStmt', 'UpdateStmt', 'DeleteStmt', 'MergeStmt']);

/** True when a data-modifying statement hides inside (a WITH … DELETE … RETURNING). */
function modifiesData(body: Json): boolean {
  let found = false;
  walk(body, (kind) => {
    if (DATA_MODIFYING.has(kind)) found = true;
  });
  return found;
}

/**
 * Visits every object below `root` with the key that holds it (a node type such as
 * `RangeVar`, or a field name such as `relation` for inlined nodes), without recursion so
 * that deep trees cannot overflow the stack.
 */
function walk(root: unknown, visit: (key: string, body: Json) => void): void {
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const value = stack.pop();
    if (Array.isArray(value)) {
      for (let i = value.length - 1; i >= 0; i--) stack.push(value[i]);
    } else if (isRecord(value)) {
      const keys = Object.keys(value);
      for (let i = keys.length - 1; i >= 0; i--) {
        const key = keys[i] ?? '';
        const child = value[key];
        if (isRecord(child)) visit(key, child);
        if (typeof child === 'object' && child !== null) stack.push(child);
      }
    }
  }
}

const DROPPED_RELATIONS = new Set([
  'OBJECT_TABLE',
  'OBJECT_VIEW',
  'OBJECT_MATVIEW',
  'OBJECT_FOREIGN_TABLE',
  'OBJECT_SEQUENCE',
  'OBJECT_INDEX',
]);

function tablesOf(body: Json): readonly string[] {
  const names: string[] = [];
  const ctes = new Set<string>();
  walk(body, (kind, node) => {
    // A RangeVar is wrapped (`{ RangeVar: … }`) in lists but inlined in typed fields (`relation`).
    if (typeof node.relname === 'string' && (kind === 'RangeVar' || /^[a-z]/.test(kind))) {
      const relname = stringField(node, 'relname');
      if (relname === undefined) return;
      const schema = stringField(node, 'schemaname');
      names.push(schema === undefined ? relname : `${schema}.${relname}`);
    } else if (kind === 'CommonTableExpr') {
      const name = stringField(node, 'ctename');
      if (name !== undefined) ctes.add(name);
    }
  });
  // DROP TABLE a, s.b names its relations as lists of strings, not RangeVars.
  if (DROPPED_RELATIONS.has(stringField(body, 'removeType') ?? '') && Array.isArray(body.objects)) {
    for (const object of body.objects) {
      const list = nodeOf(object);
      if (list === null || list[0] !== 'List' || !Array.isArray(list[1].items)) continue;
      const parts = list[1].items.map((item) => {
        const str = nodeOf(item);
        return str !== null && str[0] === 'String' ? (stringField(str[1], 'sval') ?? '') : '';
      });
      names.push(parts.join('.'));
    }
  }
  const unique: string[] = [];
  for (const name of names) {
    if (ctes.has(name) || unique.includes(name)) continue;
    unique.push(name);
  }
  return unique;
}
