/**
 * Compiles an EventFilter into SQL parts over a table aliased `e` (the index's `events_v3`
 * or the log's `log_v3`, which share their columns): a conjunction, optional OR branches
 * (each run as its own index-ordered scan), an FTS5 expression, and the sequence range
 * that the time window and the keyset cursor resolve to.
 */
import type { EventFilter } from './filter.js';
import { ftsQuery, likePattern } from './text-query.js';

export type Param = string | number | bigint;

export interface Clause {
  readonly sql: string;
  readonly params: readonly Param[];
}

/** Sequences `lo <= seq < hi` (hi null: no upper bound). */
export interface SeqRange {
  readonly lo: number;
  readonly hi: number | null;
}

export interface QueryPlan {
  /** AND-ed clauses. */
  readonly base: readonly Clause[];
  /** OR-ed alternatives (empty: none). Each becomes one ordered index scan. */
  readonly branches: readonly Clause[];
  /** FTS5 MATCH expression, or null. */
  readonly fts: string | null;
  /** The filter's text when `fts` is set (newer records are matched in memory with it). */
  readonly text: string | null;
  readonly range: SeqRange;
}

function eq(column: string, value: Param): Clause {
  return { sql: `e.${column} = ?`, params: [value] };
}

/** Narrow `range` by the keyset cursor. */
export function applyCursor(range: SeqRange, f: EventFilter): SeqRange {
  if (f.after === undefined) return range;
  if (f.order === 'oldest') return { lo: Math.max(range.lo, f.after + 1), hi: range.hi };
  return { lo: range.lo, hi: range.hi === null ? f.after : Math.min(range.hi, f.after) };
}

/**
 * `flowConnections(id)` is a subquery selecting the connection ids whose connection-open
 * record carries Community ID `id` on either leg (the reader knows where those live).
 */
export function compilePlan(
  f: EventFilter,
  range: SeqRange,
  flowConnections: (communityId: string) => Clause,
): QueryPlan {
  const base: Clause[] = [];
  const add = (column: string, value: Param | undefined): void => {
    if (value !== undefined) base.push(eq(column, value));
  };
  add('listener', f.listener);
  add('src_ip', f.sourceIp);
  add('src_port', f.sourcePort);
  add('up_local_ip', f.upstreamLocalIp);
  add('up_local_port', f.upstreamLocalPort);
  add('user', f.user);
  if (f.outcome === 'failure') {
    // A literal, so the planner can use the partial index over failures.
    base.push({ sql: "e.outcome = 'failure'", params: [] });
  } else add('outcome', f.outcome);
  add('conn', f.connectionId);
  add('rule', f.rule);
  add('policy_version', f.policyVersion);
  add('db_namespace', f.db);
  add('operation', f.operation?.toUpperCase());
  add('class', f.statementClass);
  add('status', f.status);
  add('node', f.node);
  if (f.communityId !== undefined) {
    // Every record of a connection carries its tuple; the flow id is looked up on the
    // connection-open records (a small partial index) and expanded to whole connections.
    const sub = flowConnections(f.communityId);
    base.push({ sql: `e.conn IN (${sub.sql})`, params: sub.params });
  }
  let fts: string | null = null;
  if (f.text !== undefined && f.text !== '') {
    fts = ftsQuery(f.text);
    if (fts === null)
      base.push({ sql: "e.text LIKE ? ESCAPE '\\'", params: [likePattern(f.text)] });
  }
  // Disjunctions: any of the actions × any leg of the port. Each combination is one branch.
  let branches: Clause[] = [];
  if (f.actions !== undefined && f.actions.length > 0) {
    branches = [...new Set(f.actions)].map((a) => eq('action', a));
  }
  if (f.port !== undefined) {
    const legs = ['src_port', 'dst_port', 'up_local_port', 'up_port'].map((c) =>
      eq(c, f.port ?? 0),
    );
    branches =
      branches.length === 0
        ? legs
        : branches.flatMap((b) =>
            legs.map((l) => ({ sql: `${b.sql} AND ${l.sql}`, params: [...b.params, ...l.params] })),
          );
  }
  if (branches.length === 1 && branches[0]) {
    base.push(branches[0]);
    branches = [];
  }
  return {
    base,
    branches,
    fts,
    text: fts === null ? null : (f.text ?? null),
    range: applyCursor(range, f),
  };
}

/** `lo <= col < hi` clauses for a sequence range on `column`. */
export function rangeClauses(range: SeqRange, column: string): Clause[] {
  const out: Clause[] = [];
  if (range.lo > 0) out.push({ sql: `${column} >= ?`, params: [range.lo] });
  if (range.hi !== null) out.push({ sql: `${column} < ?`, params: [range.hi] });
  return out;
}

export function joinAnd(clauses: readonly Clause[]): Clause {
  if (clauses.length === 0) return { sql: '1', params: [] };
  return {
    sql: clauses.map((c) => c.sql).join(' AND '),
    params: clauses.flatMap((c) => c.params),
  };
}
