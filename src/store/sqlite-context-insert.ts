/**
 * Log inserts with a connection's constant columns written into the statement as SQL
 * literals. The tuple columns (listener, connection, client, destination, upstream, their
 * Community ID) and the observing node are the same for every record of a connection, and
 * binding those twelve values again for each record cost ~0.75 µs of an append's ~11 µs
 * (bench/integrity.ts). A connection gets its own statement once it has written
 * `CONTEXT_AFTER` records (preparing one costs tens of µs), every row is compared with the
 * literals before it goes in this way (a row that differs takes the generic statement), a
 * value that is not plain ASCII text or a safe integer keeps its connection on the generic
 * statement, and at most `MAX_STATEMENTS` statements are kept (the cache starts over when
 * full). The stored values are the same either way: the literal has the type and text the
 * bound value would have had after the column's affinity.
 */
import type Database from 'better-sqlite3';
import type { DerivedColumns } from './derive.js';

/** The derived columns as the store holds them (any may be missing on an old row). */
type Derived = Partial<DerivedColumns>;
import type { EventRow } from './types.js';

/** Records a connection writes before it gets a statement of its own. */
const CONTEXT_AFTER = 32;
/** Statements kept at most (one per busy connection). */
const MAX_STATEMENTS = 256;

type Literal = string | number | null;

/** The constant columns, in the order of CONSTANT_COLUMNS. */
function constants(row: EventRow, d: Derived): Literal[] {
  return [
    row.listener,
    row.connectionId,
    row.sourceIp,
    row.sourcePort,
    row.destinationIp,
    row.destinationPort,
    row.upstreamLocalIp,
    row.upstreamLocalPort,
    row.upstreamIp,
    row.upstreamPort,
    row.communityId,
    d.node ?? null,
  ];
}

const CONSTANT_COLUMNS =
  'listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, community_id, node';
const BOUND_COLUMNS =
  'seq, ts, id, action, outcome, user, text, body, leaf, up_community_id, rule, policy_version, db_namespace, operation, class, status';
const BOUND_COUNT = BOUND_COLUMNS.split(',').length;

/** `v` as an SQL literal, or undefined when it is not plain enough to write as one. */
function sqlLiteral(v: Literal): string | undefined {
  if (v === null) return 'NULL';
  if (typeof v === 'number') return Number.isSafeInteger(v) ? String(v) : undefined;
  return /^[\x20-\x7e]*$/.test(v) ? `'${v.replaceAll("'", "''")}'` : undefined;
}

interface ContextStatement {
  readonly values: readonly Literal[];
  readonly statement: Database.Statement;
}

/** How often a young connection has written; `ineligible` once its values cannot be literals. */
interface Young {
  seen: number;
  ineligible: boolean;
}

export class ContextInserts {
  private readonly db: Database.Database;
  private readonly table: string;
  private statements = new Map<object, ContextStatement>();
  private readonly young = new WeakMap<object, Young>();

  constructor(db: Database.Database, table: string) {
    this.db = db;
    this.table = table;
  }

  /**
   * Inserts `row` through `context`'s statement and returns true, or returns false (the
   * caller inserts it the generic way) while the connection is young, after it proved
   * ineligible, or when this row's constant columns differ from the statement's.
   */
  insert(row: EventRow, d: Derived, context: object): boolean {
    const own = this.statements.get(context);
    if (own === undefined) return this.consider(row, d, context);
    const v = own.values;
    if (
      row.listener !== v[0] ||
      row.connectionId !== v[1] ||
      row.sourceIp !== v[2] ||
      row.sourcePort !== v[3] ||
      row.destinationIp !== v[4] ||
      row.destinationPort !== v[5] ||
      row.upstreamLocalIp !== v[6] ||
      row.upstreamLocalPort !== v[7] ||
      row.upstreamIp !== v[8] ||
      row.upstreamPort !== v[9] ||
      row.communityId !== v[10] ||
      (d.node ?? null) !== v[11]
    )
      return false;
    own.statement.run(
      row.sequence,
      row.timestampNs,
      row.id,
      row.action,
      row.outcome,
      row.user,
      row.text,
      row.body,
      row.leafHash,
      d.upstreamCommunityId ?? null,
      d.rule ?? null,
      d.policyVersion ?? null,
      d.dbNamespace ?? null,
      d.operation ?? null,
      d.statementClass ?? null,
      d.status ?? null,
    );
    return true;
  }

  /** Statements held now (tests). */
  get size(): number {
    return this.statements.size;
  }

  /** Forget every statement (the connection is closing, or the schema changed). */
  clear(): void {
    this.statements = new Map();
  }

  /** Counts a young connection's records; at CONTEXT_AFTER, prepares its statement. */
  private consider(row: EventRow, d: Derived, context: object): false {
    let young = this.young.get(context);
    if (young === undefined) {
      young = { seen: 0, ineligible: false };
      this.young.set(context, young);
    }
    if (young.ineligible || ++young.seen < CONTEXT_AFTER) return false;
    const values = constants(row, d);
    const literals = values.map(sqlLiteral);
    if (literals.some((l) => l === undefined)) {
      young.ineligible = true;
      return false;
    }
    if (this.statements.size >= MAX_STATEMENTS) this.statements = new Map();
    const statement = this.db
      .prepare(
        `INSERT INTO ${this.table} (${BOUND_COLUMNS}, ${CONSTANT_COLUMNS}) VALUES (${Array.from({ length: BOUND_COUNT }, () => '?').join(', ')}, ${literals.join(', ')})`,
      )
      .safeIntegers(false);
    this.statements.set(context, { values, statement });
    return false;
  }
}
