/**
 * The shared filter model (src/store/filter.ts) compiled for the central `records` table,
 * plus `node` and `module`, and the central keyset cursor.
 *
 * Order across nodes: records are ordered by (time, node, sequence) — `ts_ns` first (the
 * record's own `@timestamp` in nanoseconds), then the node name, then the node's sequence.
 * That is a total order (node and sequence identify a record) and it follows time, so a
 * page of several nodes reads like one log. The cursor names the last row of a page as
 * `<ts_ns>:<node>:<seq>` (`1732330800123456789:node-a:17`); `after` continues strictly
 * after it in the page's order (older for newest-first, newer for oldest-first).
 *
 * Text has the same meaning as on the local stores (src/store/text-query.ts and the
 * PostgreSQL store's `words` / `tsv` columns, src/store/pg/schema.ts): the words of the
 * query next to each other in this order, case, accents and punctuation ignored, a
 * trailing `*` making the last word a prefix; a query without any word is a substring.
 */
import { PortwardenError } from '../errors.js';
import type { EventFilter } from '../store/index.js';
import {
  type Params,
  anyPort,
  equalities,
  equality,
  pgText,
  textClause,
} from '../store/pg/index.js';

export { Params, joinWhere } from '../store/pg/index.js';

/** The shared filter, with the central cursor, plus `module`. */
export interface CentralFilter extends Omit<EventFilter, 'after'> {
  /** `event.module` (kubernetes, auditd, conntrack). */
  readonly module?: string;
  /** Keyset cursor (`next` of the previous page). */
  readonly after?: string;
}

export interface CentralCursor {
  readonly tsNs: bigint;
  readonly node: string;
  readonly seq: number;
}

export const MAX_CENTRAL_PAGE = 10_000;

export function encodeCursor(c: CentralCursor): string {
  return `${c.tsNs}:${c.node}:${c.seq}`;
}

/** Parses a cursor; a malformed one is PW_ERR_QUERY (a usage error on the CLI). */
export function decodeCursor(text: string): CentralCursor {
  const first = text.indexOf(':');
  const last = text.lastIndexOf(':');
  const ts = text.slice(0, first);
  const node = text.slice(first + 1, last);
  const seq = text.slice(last + 1);
  if (
    text.length > 300 ||
    first <= 0 ||
    last <= first + 1 ||
    !/^\d{1,20}$/.test(ts) ||
    !/^\d{1,16}$/.test(seq) ||
    BigInt(ts) > 9_223_372_036_854_775_807n
  ) {
    throw new PortwardenError('PW_ERR_QUERY', {
      detail: `after: expected a cursor like 1732330800123456789:node-a:17 (the "next" of a page), got ${JSON.stringify(text.slice(0, 80))}`,
    });
  }
  return { tsNs: BigInt(ts), node, seq: Number(seq) };
}

/** `ts` (timestamptz, the partition key) of a nanosecond parameter. */
export function tsOf(param: string): string {
  return `(timestamptz 'epoch' + (${param} / 1000) * interval '1 microsecond')`;
}

const INT8_MAX = 9_223_372_036_854_775_807n;

/**
 * A nanosecond time as the collector stores it in `ts` (cut to microseconds, as
 * `ts_ns / 1000` in SQL), in ISO form: 2026-11-23T03:00:00.123456Z. Clamped to the int8
 * range, so as a bound next to the exact `ts_ns` condition it never drops a record.
 */
export function timestamptzText(ns: bigint): string {
  const clamped = ns > INT8_MAX ? INT8_MAX : ns < -INT8_MAX - 1n ? -INT8_MAX - 1n : ns;
  const us = clamped / 1000n;
  let secs = us / 1_000_000n;
  let frac = us % 1_000_000n;
  if (frac < 0n) {
    frac += 1_000_000n;
    secs -= 1n;
  }
  const iso = new Date(Number(secs) * 1000).toISOString(); // …T03:00:00.000Z
  return `${iso.slice(0, -5)}.${frac.toString().padStart(6, '0')}Z`;
}

/**
 * `ts` of a nanosecond time as a timestamptz parameter: a constant lets the planner drop
 * the day partitions outside the window before planning them (over an expression of the
 * ns parameter it prunes only at run time, after planning every partition — most of a
 * page's cost at 30 partitions).
 */
function tsParam(ns: bigint, p: Params): string {
  return p.add(timestamptzText(ns), 'timestamptz');
}

/** A flow's connections of one node (central-conns.ts). */
export interface FlowConns {
  readonly node: string;
  readonly conns: readonly string[];
}

/**
 * The conjuncts of `f` over `records` (unaliased), its cursor included. `flow`, when given,
 * is the flow of `f.communityId` already read from the connections table: its connection
 * ids become constants, so no subquery is planned over every partition.
 */
export function centralWhere(f: CentralFilter, p: Params, flow?: readonly FlowConns[]): string[] {
  const w = equalities(f, p);
  w.push(...equality('outcome', f.outcome, p), ...equality('module', f.module, p));
  if (f.communityId !== undefined && flow !== undefined) {
    if (flow.length === 0) w.push('false');
    else {
      // conn = ANY(all) for each partition's (conn, ts) index; the node of each id checked.
      w.push(`conn = ANY(${p.add([...new Set(flow.flatMap((x) => x.conns))], 'text[]')})`);
      const [only] = flow;
      if (flow.length === 1 && only !== undefined) w.push(`node = ${p.add(only.node)}`);
      else
        w.push(
          `(${flow.map((x) => `(node = ${p.add(x.node)} AND conn = ANY(${p.add(x.conns, 'text[]')}))`).join(' OR ')})`,
        );
    }
  } else if (f.communityId !== undefined) {
    const id = p.add(pgText(f.communityId));
    const opens = `FROM records WHERE action = 'connection-open' AND (community_id = ${id} OR up_community_id = ${id})`;
    // Connection ids are a node's own: a flow is the (node, connection) pairs it opened.
    // Their connection ids as an array first, so each partition's (conn, ts) index finds
    // the rows: the semi-join alone was planned as a scan of every record (1 s at 1M).
    w.push(
      `conn = ANY(ARRAY(SELECT conn ${opens}))`,
      `(node, conn) IN (SELECT node, conn ${opens})`,
    );
  }
  if (f.actions !== undefined && f.actions.length > 0)
    w.push(`action = ANY(${p.add([...new Set(f.actions.map(pgText))], 'text[]')})`);
  w.push(...anyPort(f.port, p));
  if (f.sinceNs !== undefined) {
    const since = p.add(f.sinceNs.toString(), 'bigint');
    w.push(`ts >= ${tsParam(f.sinceNs, p)}`, `ts_ns >= ${since}`);
  }
  if (f.untilNs !== undefined) {
    const until = p.add(f.untilNs.toString(), 'bigint');
    // ts is ts_ns cut to microseconds: the partition bound must not drop the last µs.
    w.push(`ts <= ${tsParam(f.untilNs, p)}`, `ts_ns < ${until}`);
  }
  if (f.text !== undefined && f.text !== '') w.push(textClause(f.text, p));
  if (f.after !== undefined) {
    const c = decodeCursor(f.after);
    const ts = p.add(c.tsNs.toString(), 'bigint');
    const op = f.order === 'oldest' ? '>' : '<';
    w.push(
      `ts ${op}= ${tsParam(c.tsNs, p)}`,
      `(ts_ns, node, seq) ${op} (${ts}, ${p.add(c.node)}::text, ${p.add(c.seq, 'bigint')})`,
    );
  }
  return w;
}

/** ORDER BY of a page (ts first so PostgreSQL reads the day partitions in order). */
export function orderBy(order: 'newest' | 'oldest' | undefined): string {
  const dir = order === 'oldest' ? 'ASC' : 'DESC';
  return `ORDER BY ts ${dir}, ts_ns ${dir}, node ${dir}, seq ${dir}`;
}
