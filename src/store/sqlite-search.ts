/**
 * The read side of the SQLite store: search pages, counts and group-by summaries; the
 * correlation lookups (`who`, a connection's ends) are in sqlite-lookups.ts. Statements are
 * prepared once per filter shape and kept in a small cache (sqlite-reader.ts).
 *
 * Every query runs in two parts (sqlite-schema.ts): records before `indexed_upto` through
 * the index file's `events_v3` (secondary indexes, FTS5), and the newer tail straight from
 * the log's `log_v3` (a primary-key range scan over the few records the indexer has not
 * reached; text is matched there in memory by the FTS rules). The two parts never overlap,
 * whatever the indexer commits meanwhile: the index part is bounded by `seq < upto` and the
 * log only grows. Rows always come from the log (body and leaf live only there).
 */
import type Database from 'better-sqlite3';
import type { EventFilter } from './filter.js';
import { MAX_PAGE } from './filter.js';
import {
  type Clause,
  type QueryPlan,
  type SeqRange,
  compilePlan,
  joinAnd,
  rangeClauses,
} from './sqlite-query.js';
import { toEventRow } from './event-row.js';
import { SqliteLookups } from './sqlite-lookups.js';
import { type Dir, FTS, INDEX, LOG, SqliteReader } from './sqlite-reader.js';
import { COLUMNS, type RawRow } from './sqlite-row.js';
import { textMatches } from './text-query.js';
import type { ConnectionAt, EventRow, GroupKey, Page } from './types.js';

const E_COLUMNS = COLUMNS.split(', ')
  .map((c) => `e.${c}`)
  .join(', ');

const GROUP_EXPR: Record<Exclude<GroupKey, 'hour'>, string> = {
  listener: "COALESCE(e.listener, '-')",
  user: "COALESCE(e.user, '-')",
  source: "COALESCE(e.src_ip, '-')",
  action: 'e.action',
  outcome: "COALESCE(e.outcome, '-')",
  rule: "COALESCE(e.rule, '-')",
  operation: "COALESCE(e.operation, '-')",
  status: "COALESCE(e.status, '-')",
  db: "COALESCE(e.db_namespace, '-')",
};

const HOUR_NS = 3_600_000_000_000n;
/** More hour buckets than this (about 14 months) are grouped by one SQL GROUP BY instead. */
const MAX_HOUR_BUCKETS = 10_000;

export class SqliteSearch {
  private readonly r: SqliteReader;
  private readonly lookups: SqliteLookups;

  constructor(db: Database.Database, hasIndex: boolean) {
    this.r = new SqliteReader(db, hasIndex);
    this.lookups = new SqliteLookups(this.r);
  }

  /** Records before this sequence are in the index. */
  upto(): number {
    return this.r.upto();
  }

  /** The time window as a sequence range. */
  private rangeOf(f: EventFilter, upto: number): SeqRange {
    let lo = 0;
    let hi: number | null = null;
    if (f.sinceNs !== undefined) lo = this.r.seqAt(f.sinceNs, upto) ?? this.r.end();
    if (f.untilNs !== undefined) hi = this.r.seqAt(f.untilNs, upto);
    return { lo, hi };
  }

  /** Connections whose connection-open carries the Community ID, in the index and the tail. */
  private flowConnections(upto: number): (id: string) => Clause {
    return (id) => {
      const tail = {
        sql: `SELECT conn FROM ${LOG} WHERE seq >= ? AND action = 'connection-open' AND (community_id = ? OR up_community_id = ?)`,
        params: [upto, id, id],
      };
      if (upto === 0) return tail;
      return {
        sql: `SELECT conn FROM ${INDEX} WHERE action = 'connection-open' AND community_id = ? UNION SELECT conn FROM ${INDEX} WHERE action = 'connection-open' AND up_community_id = ? UNION ${tail.sql}`,
        params: [id, id, ...tail.params],
      };
    };
  }

  /** The filter's plan, and where the index stands. */
  private planOf(f: EventFilter): { p: QueryPlan; upto: number } {
    const upto = this.r.upto();
    return { p: compilePlan(f, this.rangeOf(f, upto), this.flowConnections(upto)), upto };
  }

  /** A plan split at `upto` into its indexed part and its tail part. */
  private split(p: QueryPlan, upto: number): { indexed: QueryPlan | null; tail: QueryPlan | null } {
    if (isEmpty(p.range)) return { indexed: null, tail: null };
    const indexedHi = p.range.hi === null ? upto : Math.min(p.range.hi, upto);
    const tailLo = Math.max(p.range.lo, upto);
    return {
      indexed: indexedHi > p.range.lo ? { ...p, range: { lo: p.range.lo, hi: indexedHi } } : null,
      tail:
        p.range.hi === null || p.range.hi > tailLo
          ? { ...p, fts: null, range: { lo: tailLo, hi: p.range.hi } }
          : null,
    };
  }

  /** FROM … WHERE … over `table` (branches OR-ed; FTS joined on the index). */
  private fromWhere(p: QueryPlan, table: typeof INDEX | typeof LOG): Clause {
    const parts: Clause[] = [...p.base];
    if (p.branches.length > 0) {
      parts.push({
        sql: `(${p.branches.map((b) => `(${b.sql})`).join(' OR ')})`,
        params: p.branches.flatMap((b) => b.params),
      });
    }
    if (p.fts !== null && table === INDEX) {
      const where = joinAnd([
        { sql: 'f.events_fts_v3 MATCH ?', params: [p.fts] },
        ...rangeClauses(p.range, 'f.rowid'),
        ...parts,
      ]);
      return {
        sql: `FROM ${FTS} f CROSS JOIN ${INDEX} e ON e.seq = f.rowid WHERE ${where.sql}`,
        params: where.params,
      };
    }
    const where = joinAnd([...rangeClauses(p.range, 'e.seq'), ...parts]);
    return { sql: `FROM ${table} e WHERE ${where.sql}`, params: where.params };
  }

  /** The tail's matching rows (text matched in memory). */
  private tailRows(p: QueryPlan, dir: Dir, limit?: number): RawRow[] {
    const fw = this.fromWhere(p, LOG);
    const lim = p.text === null && limit !== undefined ? ` LIMIT ${limit}` : '';
    const rows = this.r
      .stmt(`SELECT ${E_COLUMNS} ${fw.sql} ORDER BY e.seq ${dir}${lim}`)
      .all(...fw.params) as RawRow[];
    const text = p.text;
    const matched = text === null ? rows : rows.filter((r) => textMatches(text, r.text));
    return limit === undefined ? matched : matched.slice(0, limit);
  }

  search(f: EventFilter): Page {
    const limit = Math.max(1, Math.min(f.limit ?? 100, MAX_PAGE));
    const { p, upto } = this.planOf(f);
    const { indexed, tail } = this.split(p, upto);
    const dir: Dir = f.order === 'oldest' ? 'ASC' : 'DESC';
    const raw: RawRow[] = [];
    // Newest first the tail comes first; oldest first it comes last.
    for (const which of dir === 'DESC'
      ? (['tail', 'indexed'] as const)
      : (['indexed', 'tail'] as const)) {
      const need = limit + 1 - raw.length;
      if (need <= 0) break;
      if (which === 'tail' && tail) raw.push(...this.tailRows(tail, dir, need));
      if (which === 'indexed' && indexed) {
        const q = this.searchSql(indexed, dir, need);
        raw.push(
          ...this.r.rowsOf(
            this.r
              .stmt(q.sql)
              .pluck()
              .all(...q.params) as bigint[],
            dir,
          ),
        );
      }
    }
    const rows = raw.slice(0, limit).map(toEventRow);
    const last = rows[rows.length - 1];
    return { rows, next: raw.length > limit && last ? last.sequence : null };
  }

  /** The indexed part's sequences for one page. */
  private searchSql(p: QueryPlan, dir: Dir, limit: number): Clause {
    if (p.fts !== null || p.branches.length === 0) {
      const fw = this.fromWhere(p, INDEX);
      const orderCol = p.fts !== null ? 'f.rowid' : 'e.seq';
      return {
        sql: `SELECT e.seq ${fw.sql} ORDER BY ${orderCol} ${dir} LIMIT ${limit}`,
        params: fw.params,
      };
    }
    // One index-ordered scan per branch, each stopping after a page; then merge.
    const range = rangeClauses(p.range, 'e.seq');
    const subs = p.branches.map((b) => {
      const w = joinAnd([...range, ...p.base, b]);
      return {
        sql: `SELECT seq FROM (SELECT e.seq FROM ${INDEX} e WHERE ${w.sql} ORDER BY e.seq ${dir} LIMIT ${limit})`,
        params: w.params,
      };
    });
    return {
      sql: `SELECT seq FROM (${subs.map((s) => s.sql).join(' UNION ')}) ORDER BY seq ${dir} LIMIT ${limit}`,
      params: subs.flatMap((s) => s.params),
    };
  }

  count(f: EventFilter): number {
    const { p, upto } = this.planOf(f);
    return this.countPlan(p, upto);
  }

  private countPlan(p: QueryPlan, upto: number): number {
    if (isEmpty(p.range)) return 0;
    if (p.base.length === 0 && p.branches.length === 0 && p.text === null) {
      // Sequences are gapless: a bare time window is counted from its two ends.
      const end = this.r.end();
      return Math.max(0, Math.min(p.range.hi ?? end, end) - p.range.lo);
    }
    const { indexed, tail } = this.split(p, upto);
    return (indexed ? this.countIndexed(indexed) : 0) + (tail ? this.countTail(tail) : 0);
  }

  private countIndexed(p: QueryPlan): number {
    const fw = this.fromWhere(p, INDEX);
    return Number(
      this.r
        .stmt(`SELECT COUNT(*) ${fw.sql}`)
        .pluck()
        .get(...fw.params) as bigint,
    );
  }

  private countTail(p: QueryPlan): number {
    if (p.text !== null) return this.tailRows(p, 'ASC').length;
    const fw = this.fromWhere(p, LOG);
    return Number(
      this.r
        .stmt(`SELECT COUNT(*) ${fw.sql}`)
        .pluck()
        .get(...fw.params) as bigint,
    );
  }

  groupBy(f: EventFilter, key: GroupKey): { key: string; count: number }[] {
    if (key === 'hour') return this.groupByHour(f);
    const { p, upto } = this.planOf(f);
    const { indexed, tail } = this.split(p, upto);
    const counts = new Map<string, number>();
    const add = (k: string, n: number): void => {
      counts.set(k, (counts.get(k) ?? 0) + n);
    };
    if (indexed) for (const g of this.groupSql(indexed, key, INDEX)) add(g.key, g.count);
    if (tail) {
      if (tail.text !== null)
        for (const r of this.tailRows(tail, 'ASC')) add(groupKeyOf(key, r), 1);
      else for (const g of this.groupSql(tail, key, LOG)) add(g.key, g.count);
    }
    return [...counts]
      .map(([k, count]) => ({ key: k, count }))
      .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1))
      .slice(0, 10_000);
  }

  private groupSql(
    p: QueryPlan,
    key: Exclude<GroupKey, 'hour'>,
    table: typeof INDEX | typeof LOG,
  ): { key: string; count: number }[] {
    const fw = this.fromWhere(p, table);
    const rows = this.r
      .stmt(
        `SELECT ${GROUP_EXPR[key]} AS k, COUNT(*) AS n ${fw.sql} GROUP BY k ORDER BY n DESC, k LIMIT 10000`,
      )
      .all(...fw.params) as { k: string | bigint; n: bigint }[];
    return rows.map((r) => ({ key: String(r.k), count: Number(r.n) }));
  }

  /**
   * Per hour: each hour's first sequence comes from the `ts` index (one probe per hour);
   * a bare window is then counted from bucket ends, a filtered one by one ranged count per
   * hour — a month is 720 probes instead of a GROUP BY over every record.
   */
  private groupByHour(f: EventFilter): { key: string; count: number }[] {
    const { p: whole, upto } = this.planOf(f);
    if (isEmpty(whole.range)) return [];
    const end = this.r.end();
    const lastSeq = Math.min(whole.range.hi ?? end, end) - 1;
    const first = this.r.rowTs(whole.range.lo);
    const last = this.r.rowTs(lastSeq);
    if (first === null || last === null) return [];
    const startHour = (first / HOUR_NS) * HOUR_NS;
    const buckets = Number((last - startHour) / HOUR_NS) + 1;
    if (buckets > MAX_HOUR_BUCKETS && whole.text === null) return this.groupByHourSql(whole, upto);
    const out: { key: string; count: number }[] = [];
    let lo = whole.range.lo;
    for (let i = 0; i < buckets; i++) {
      const boundary = startHour + BigInt(i + 1) * HOUR_NS;
      const next = Math.min(this.r.seqAt(boundary, upto) ?? end, lastSeq + 1);
      if (next > lo) {
        const n = this.countPlan({ ...whole, range: { lo, hi: next } }, upto);
        if (n > 0) out.push({ key: hourKey(boundary - HOUR_NS), count: n });
      }
      lo = next;
    }
    return out;
  }

  private groupByHourSql(p: QueryPlan, upto: number): { key: string; count: number }[] {
    const counts = new Map<bigint, number>();
    const split = [
      {
        table: INDEX,
        range: { lo: p.range.lo, hi: p.range.hi === null ? upto : Math.min(p.range.hi, upto) },
      },
      { table: LOG, range: { lo: Math.max(p.range.lo, upto), hi: p.range.hi } },
    ] as const;
    for (const s of split) {
      if (isEmpty(s.range) || (s.table === INDEX && upto === 0)) continue;
      const fw = this.fromWhere({ ...p, range: s.range }, s.table);
      const rows = this.r
        .stmt(`SELECT e.ts / ${HOUR_NS} AS h, COUNT(*) AS n ${fw.sql} GROUP BY h ORDER BY h`)
        .all(...fw.params) as { h: bigint; n: bigint }[];
      for (const r of rows) counts.set(BigInt(r.h), (counts.get(BigInt(r.h)) ?? 0) + Number(r.n));
    }
    return [...counts]
      .sort((a, b) => (a[0] < b[0] ? -1 : 1))
      .map(([h, count]) => ({ key: hourKey(h * HOUR_NS), count }));
  }

  connectionAt(ip: string, port: number, atNs: bigint): ConnectionAt | null {
    return this.lookups.connectionAt(ip, port, atNs);
  }

  ends(connectionId: string): { open: EventRow | null; close: EventRow | null } {
    return this.lookups.ends(connectionId);
  }

  firstSequenceOfSource(sourceIp: string): number | null {
    return this.lookups.firstSequenceOfSource(sourceIp);
  }

  /** A record by its id. */
  byId(id: string): EventRow | null {
    return this.lookups.byId(id);
  }

  /** The query plan SQLite chooses for a search's indexed part (tests check index use). */
  explainSearch(f: EventFilter): string[] {
    const { p, upto } = this.planOf(f);
    const q = this.searchSql(
      { ...p, range: { lo: p.range.lo, hi: p.range.hi ?? upto } },
      'DESC',
      101,
    );
    return this.r.plan(q.sql, q.params);
  }

  /** The query plans of the `who` lookups on the index. */
  explainWho(): string[] {
    return this.lookups.explainWho();
  }
}

function groupKeyOf(key: Exclude<GroupKey, 'hour'>, r: RawRow): string {
  const v = {
    listener: r.listener,
    user: r.user_name,
    source: r.src_ip,
    action: r.action,
    outcome: r.outcome,
    rule: r.rule,
    operation: r.operation,
    status: r.status,
    db: r.db_namespace,
  }[key];
  return v ?? '-';
}

function isEmpty(r: SeqRange): boolean {
  return r.hi !== null && r.hi <= r.lo;
}

function hourKey(ns: bigint): string {
  return `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 13)}:00Z`;
}
