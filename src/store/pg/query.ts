/**
 * Compiles an EventFilter into a PostgreSQL WHERE clause over `events e`, with the same
 * meaning as the embedded store's (filter.ts): every field AND-ed, `actions` and `port` as
 * alternatives, a time window as `since <= ts < until`, the keyset cursor as a sequence
 * bound, and `text` as a phrase of words (see schema.ts for the `words` / `tsv` columns).
 * NUL, which PostgreSQL text cannot hold, is stored as U+FFFD (row.ts) and searched so.
 * The central store (src/ship/central-query.ts) compiles its filters with these pieces.
 */
import type { EventFilter } from '../filter.js';
import { lexeme, pgText, searchWords } from './row.js';

export class Params {
  readonly values: unknown[] = [];
  /** `$n`, optionally cast. */
  add(value: unknown, cast?: string): string {
    this.values.push(value);
    return `$${this.values.length}${cast ? `::${cast}` : ''}`;
  }
}

/** The fields `equalities` reads (the central filter's cursor is of another kind). */
type Fields = Omit<EventFilter, 'after'>;
type Equality = readonly [column: string, value: (f: Fields) => string | number | undefined];

/** Filter fields that are one column's equality, named alike in every PostgreSQL record table. */
const EQUALITIES: readonly Equality[] = [
  ['node', (f) => f.node],
  ['listener', (f) => f.listener],
  ['src_ip', (f) => f.sourceIp],
  ['src_port', (f) => f.sourcePort],
  ['up_local_ip', (f) => f.upstreamLocalIp],
  ['up_local_port', (f) => f.upstreamLocalPort],
  ['user_name', (f) => f.user],
  ['conn', (f) => f.connectionId],
  ['rule', (f) => f.rule],
  ['policy_version', (f) => f.policyVersion],
  ['db_namespace', (f) => f.db],
  ['operation', (f) => f.operation?.toUpperCase()],
  ['class', (f) => f.statementClass],
  ['status', (f) => f.status],
];

/** `column = value` (nothing for undefined); `alias` prefixes the column (`e.`). */
export function equality(
  column: string,
  value: string | number | undefined,
  p: Params,
  alias = '',
): string[] {
  if (value === undefined) return [];
  // An integer column never equals a fraction or an out-of-range number (no cast error).
  if (typeof value === 'number' && !isInt4(value)) return ['false'];
  return [`${alias}${column} = ${p.add(typeof value === 'string' ? pgText(value) : value)}`];
}

/** `port`: any endpoint port of either leg. */
export function anyPort(port: number | undefined, p: Params, alias = ''): string[] {
  if (port === undefined) return [];
  if (!isInt4(port)) return ['false'];
  const n = p.add(port, 'integer');
  const ports = ['src_port', 'dst_port', 'up_local_port', 'up_port'];
  return [`(${ports.map((c) => `${alias}${c} = ${n}`).join(' OR ')})`];
}

/** The equalities of `f` (the central store's `records` shares these columns). */
export function equalities(f: Fields, p: Params, alias = ''): string[] {
  return EQUALITIES.flatMap(([column, of]) => equality(column, of(f), p, alias));
}

/** The conjuncts of `f`, its keyset cursor included (empty: every record). */
export function whereOf(f: EventFilter, p: Params): string[] {
  const w = equalities(f, p, 'e.');
  // A literal, so that the planner can use the partial index of failures.
  if (f.outcome === 'failure') w.push("e.outcome = 'failure'");
  else w.push(...equality('outcome', f.outcome, p, 'e.'));
  if (f.communityId !== undefined) {
    const id = p.add(pgText(f.communityId));
    // Every record of the connections whose open record carries the flow id on either leg.
    w.push(
      `e.conn IN (SELECT conn FROM events WHERE action = 'connection-open' AND community_id = ${id} UNION SELECT conn FROM events WHERE action = 'connection-open' AND up_community_id = ${id})`,
    );
  }
  if (f.actions !== undefined && f.actions.length > 0) {
    w.push(`e.action = ANY(${p.add([...new Set(f.actions.map(pgText))], 'text[]')})`);
  }
  w.push(...anyPort(f.port, p, 'e.'));
  if (f.sinceNs !== undefined) w.push(`e.ts >= ${p.add(f.sinceNs.toString(), 'bigint')}`);
  if (f.untilNs !== undefined) w.push(`e.ts < ${p.add(f.untilNs.toString(), 'bigint')}`);
  if (f.text !== undefined && f.text !== '') w.push(textClause(f.text, p, 'e.'));
  if (f.after !== undefined) {
    // Sequences are integers: `seq > 1.5` is `seq > 1`, `seq < 1.5` is `seq < 2`.
    const after = f.order === 'oldest' ? Math.floor(f.after) : Math.ceil(f.after);
    if (Number.isFinite(after)) {
      w.push(`e.seq ${f.order === 'oldest' ? '>' : '<'} ${p.add(String(after), 'bigint')}`);
    } else if (f.order === 'oldest' ? after > 0 : after < 0) w.push('false');
  }
  return w;
}

/**
 * `text`: its words next to each other in this order (a trailing `*` makes the last one a
 * prefix); with no word at all, a substring of the raw text. The GIN index over `tsv`
 * finds the records that hold every word; `words LIKE` then checks order and adjacency.
 * `alias` prefixes the columns (`e.` over `events e`); the central store's `records` has
 * the same `text`, `words` and `tsv` columns.
 */
export function textClause(text: string, p: Params, alias = ''): string {
  const b = textBranches(text, p, alias);
  if (b === null) {
    return `${alias}text LIKE ${p.add(`%${pgText(text).replace(/[\\%_]/g, (c) => `\\${c}`)}%`)} ESCAPE '\\'`;
  }
  return `(${b.tokenized} OR (${b.untokenized})) AND ${b.adjacent}`;
}

/**
 * The parts of `textClause` for text that has words (null when it has none): rows whose
 * `tsv` holds every word, rows with words but no tsvector (too long for one), and the
 * order-and-adjacency check both need. The central store reads the two kinds of rows in
 * separate subqueries (src/ship/central-text.ts), each estimated and indexed on its own.
 */
export function textBranches(
  text: string,
  p: Params,
  alias = '',
): { tokenized: string; untokenized: string; adjacent: string } | null {
  const want = searchWords(text);
  if (want.length === 0) return null;
  const prefix = /\*\s*$/.test(text);
  const terms = want.map((w, i) => {
    const quoted = `'${lexeme(w)}'`;
    return prefix && i === want.length - 1 ? `${quoted}:*` : quoted;
  });
  const pattern = `% ${want.join(' ')}${prefix ? '' : ' '}%`;
  return {
    tokenized: `${alias}tsv @@ ${p.add(terms.join(' & '), 'tsquery')}`,
    untokenized: `${alias}tsv IS NULL AND ${alias}words IS NOT NULL`,
    adjacent: `${alias}words LIKE ${p.add(pattern)}`,
  };
}

/** An int4 column can hold it. */
function isInt4(v: number): boolean {
  return Number.isInteger(v) && v >= -2147483648 && v <= 2147483647;
}

export function joinWhere(w: readonly string[]): string {
  return w.length === 0 ? '' : `WHERE ${w.join(' AND ')}`;
}
