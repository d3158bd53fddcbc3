/**
 * The read side of the SQLite store: search pages, counts, group-by summaries and the
 * correlation lookups (`who`, a connection's ends). Statements are prepared once per
 * filter shape and kept in a small cache.
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
import { COLUMNS, type RawRow, toRow } from './sqlite-row.js';
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
  private readonly db: Database.Database;
  private readonly cache = new Map<string, Database.Statement>();
  private readonly firstSeqAtOrAfter: Database.Statement;
  private readonly nextSeq: Database.Statement;
  private readonly openByClient: Database.Statement;
  private readonly openByUpstream: Database.Statement;
  private readonly closeOf: Database.Statement;
  private readonly openOf: Database.Statement;
  private readonly firstOfSource: Database.Statement;
  private readonly ftsUptoStmt: Database.Statement;

  constructor(db: Database.Database) {
    this.db = db;
    this.firstSeqAtOrAfter = db
      .prepare('SELECT seq FROM events_v2 WHERE ts >= ? ORDER BY ts LIMIT 1')
      .pluck();
    this.nextSeq = db.prepare('SELECT COALESCE(MAX(seq) + 1, 0) FROM events_v2').pluck();
    this.openByClient = db.prepare(
      `SELECT ${COLUMNS} FROM events_v2 WHERE action = 'connection-open' AND src_ip = ? AND src_port = ? AND ts <= ? ORDER BY ts DESC LIMIT 1`,
    );
    this.openByUpstream = db.prepare(
      `SELECT ${COLUMNS} FROM events_v2 WHERE action = 'connection-open' AND up_local_ip = ? AND up_local_port = ? AND ts <= ? ORDER BY ts DESC LIMIT 1`,
    );
    this.closeOf = db.prepare(
      `SELECT ${COLUMNS} FROM events_v2 WHERE action = 'connection-close' AND conn = ? LIMIT 1`,
    );
    this.openOf = db.prepare(
      `SELECT ${COLUMNS} FROM events_v2 WHERE conn = ? AND action = 'connection-open' ORDER BY seq LIMIT 1`,
    );
    this.firstOfSource = db.prepare('SELECT MIN(seq) FROM events_v2 WHERE src_ip = ?').pluck();
    this.ftsUptoStmt = db
      .prepare("SELECT CAST(value AS INTEGER) FROM meta WHERE key = 'fts_upto'")
      .pluck();
  }

  private stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (s === undefined) {
      if (this.cache.size >= 256) this.cache.clear();
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  private seqAt(ns: bigint): number | null {
    const v = this.firstSeqAtOrAfter.get(ns) as bigint | undefined;
    return v === undefined ? null : Number(v);
  }

  private end(): number {
    return Number(this.nextSeq.get() as bigint);
  }

  /** The time window as a sequence range (sequence and time grow together on a node). */
  rangeOf(f: EventFilter): SeqRange {
    let lo = 0;
    let hi: number | null = null;
    if (f.sinceNs !== undefined) lo = this.seqAt(f.sinceNs) ?? this.end();
    if (f.untilNs !== undefined) hi = this.seqAt(f.untilNs);
    return { lo, hi };
  }

  private plan(f: EventFilter): QueryPlan {
    return compilePlan(f, this.rangeOf(f));
  }

  /** FROM … WHERE … for counting and grouping (branches OR-ed). */
  private fromWhere(p: QueryPlan): Clause {
    const parts: Clause[] = [...p.base];
    if (p.branches.length > 0) {
      parts.push({
        sql: `(${p.branches.map((b) => `(${b.sql})`).join(' OR ')})`,
        params: p.branches.flatMap((b) => b.params),
      });
    }
    if (p.fts !== null) {
      const where = joinAnd([
        { sql: 'f.events_fts_v2 MATCH ?', params: [p.fts] },
        ...rangeClauses(p.range, 'f.rowid'),
        ...parts,
      ]);
      return {
        sql: `FROM events_fts_v2 f CROSS JOIN events_v2 e ON e.seq = f.rowid WHERE ${where.sql}`,
        params: where.params,
      };
    }
    const where = joinAnd([...rangeClauses(p.range, 'e.seq'), ...parts]);
    return { sql: `FROM events_v2 e WHERE ${where.sql}`, params: where.params };
  }

  search(f: EventFilter): Page {
    const limit = Math.max(1, Math.min(f.limit ?? 100, MAX_PAGE));
    const p = this.plan(f);
    if (isEmpty(p.range)) return { rows: [], next: null };
    const dir = f.order === 'oldest' ? 'ASC' : 'DESC';
    let raw: RawRow[];
    if (p.text !== null) {
      // Newest first the unindexed tail comes first; oldest first it comes last.
      const { indexed, tail } = this.splitText(p);
      raw = [];
      for (const part of dir === 'DESC' ? [tail, indexed] : [indexed, tail]) {
        const need = limit + 1 - raw.length;
        if (part === null || need <= 0) continue;
        if (part === tail) raw.push(...this.tailRows(part, p.text, dir).slice(0, need));
        else {
          const q = this.searchSql(part, dir, need);
          raw.push(...(this.stmt(q.sql).all(...q.params) as RawRow[]));
        }
      }
    } else {
      const q = this.searchSql(p, dir, limit + 1);
      raw = this.stmt(q.sql).all(...q.params) as RawRow[];
    }
    const rows = raw.slice(0, limit).map(toRow);
    const last = rows[rows.length - 1];
    return { rows, next: raw.length > limit && last ? last.sequence : null };
  }

  private ftsUpto(): number {
    const v = this.ftsUptoStmt.get() as bigint | undefined;
    return v === undefined || v === null ? 0 : Number(v);
  }

  /**
   * A text search in two parts: records the FTS index holds (before `fts_upto`), and the
   * newer tail the store has not indexed yet (at most a second or 512 records behind),
   * which is matched in memory by the same rules.
   */
  private splitText(p: QueryPlan): { indexed: QueryPlan | null; tail: QueryPlan | null } {
    const upto = this.ftsUpto();
    const indexedHi = p.range.hi === null ? upto : Math.min(p.range.hi, upto);
    const tailLo = Math.max(p.range.lo, upto);
    return {
      indexed:
        indexedHi > p.range.lo
          ? { ...p, text: null, range: { lo: p.range.lo, hi: indexedHi } }
          : null,
      tail:
        p.range.hi === null || p.range.hi > tailLo
          ? { ...p, fts: null, text: null, range: { lo: tailLo, hi: p.range.hi } }
          : null,
    };
  }

  private tailRows(p: QueryPlan, text: string, dir: 'ASC' | 'DESC'): RawRow[] {
    const fw = this.fromWhere(p);
    const rows = this.stmt(`SELECT ${E_COLUMNS} ${fw.sql} ORDER BY e.seq ${dir}`).all(
      ...fw.params,
    ) as RawRow[];
    return rows.filter((r) => textMatches(text, r.text));
  }

  private searchSql(p: QueryPlan, dir: 'ASC' | 'DESC', limit: number): Clause {
    if (p.fts !== null || p.branches.length === 0) {
      const fw = this.fromWhere(p);
      const orderCol = p.fts !== null ? 'f.rowid' : 'e.seq';
      return {
        sql: `SELECT ${E_COLUMNS} ${fw.sql} ORDER BY ${orderCol} ${dir} LIMIT ${limit}`,
        params: fw.params,
      };
    }
    // One index-ordered scan per branch, each stopping after a page; then merge.
    const range = rangeClauses(p.range, 'e.seq');
    const subs = p.branches.map((b) => {
      const w = joinAnd([...range, ...p.base, b]);
      return {
        sql: `SELECT seq FROM (SELECT e.seq FROM events_v2 e WHERE ${w.sql} ORDER BY e.seq ${dir} LIMIT ${limit})`,
        params: w.params,
      };
    });
    return {
      sql: `SELECT ${E_COLUMNS} FROM events_v2 e WHERE e.seq IN (${subs.map((s) => s.sql).join(' UNION ')}) ORDER BY e.seq ${dir} LIMIT ${limit}`,
      params: subs.flatMap((s) => s.params),
    };
  }

  count(f: EventFilter): number {
    return this.countPlan(this.plan(f));
  }

  private countPlan(p: QueryPlan): number {
    if (isEmpty(p.range)) return 0;
    if (p.base.length === 0 && p.branches.length === 0 && p.fts === null) {
      // Sequences are gapless: a bare time window is counted from its two ends.
      const end = this.end();
      return Math.max(0, Math.min(p.range.hi ?? end, end) - p.range.lo);
    }
    if (p.text !== null) {
      const { indexed, tail } = this.splitText(p);
      return (
        (indexed ? this.countPlan(indexed) : 0) +
        (tail ? this.tailRows(tail, p.text, 'ASC').length : 0)
      );
    }
    const fw = this.fromWhere(p);
    return Number(
      this.stmt(`SELECT COUNT(*) ${fw.sql}`)
        .pluck()
        .get(...fw.params) as bigint,
    );
  }

  groupBy(f: EventFilter, key: GroupKey): { key: string; count: number }[] {
    if (key === 'hour') return this.groupByHour(f);
    const p = this.plan(f);
    if (isEmpty(p.range)) return [];
    if (p.text !== null) {
      const { indexed, tail } = this.splitText(p);
      const counts = new Map<string, number>();
      for (const g of indexed ? this.groupPlan(indexed, key) : []) counts.set(g.key, g.count);
      for (const r of tail ? this.tailRows(tail, p.text, 'ASC') : []) {
        const k = groupKeyOf(key, r);
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      return [...counts]
        .map(([k, count]) => ({ key: k, count }))
        .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
    }
    return this.groupPlan(p, key);
  }

  private groupPlan(
    p: QueryPlan,
    key: Exclude<GroupKey, 'hour'>,
  ): { key: string; count: number }[] {
    const fw = this.fromWhere(p);
    const rows = this.stmt(
      `SELECT ${GROUP_EXPR[key]} AS k, COUNT(*) AS n ${fw.sql} GROUP BY k ORDER BY n DESC, k LIMIT 10000`,
    ).all(...fw.params) as { k: string | bigint; n: bigint }[];
    return rows.map((r) => ({ key: String(r.k), count: Number(r.n) }));
  }

  /**
   * Per hour: each hour's first sequence comes from the `ts` index (one probe per hour);
   * a bare window is then counted from bucket ends, a filtered one by one ranged count per
   * hour — a month is 720 probes instead of a GROUP BY over every record.
   */
  private groupByHour(f: EventFilter): { key: string; count: number }[] {
    const whole = this.plan(f);
    if (isEmpty(whole.range)) return [];
    const end = this.end();
    const lastSeq = Math.min(whole.range.hi ?? end, end) - 1;
    const first = this.rowTs(whole.range.lo);
    const last = this.rowTs(lastSeq);
    if (first === null || last === null) return [];
    const startHour = (first / HOUR_NS) * HOUR_NS;
    const buckets = Number((last - startHour) / HOUR_NS) + 1;
    if (buckets > MAX_HOUR_BUCKETS && whole.text === null) return this.groupByHourSql(whole);
    const out: { key: string; count: number }[] = [];
    let lo = whole.range.lo;
    for (let i = 0; i < buckets; i++) {
      const boundary = startHour + BigInt(i + 1) * HOUR_NS;
      const next = Math.min(this.seqAt(boundary) ?? end, lastSeq + 1);
      if (next > lo) {
        const n = this.countPlan({ ...whole, range: { lo, hi: next } });
        if (n > 0) out.push({ key: hourKey(boundary - HOUR_NS), count: n });
      }
      lo = next;
    }
    return out;
  }

  private groupByHourSql(p: QueryPlan): { key: string; count: number }[] {
    const fw = this.fromWhere(p);
    const rows = this.stmt(
      `SELECT e.ts / ${HOUR_NS} AS h, COUNT(*) AS n ${fw.sql} GROUP BY h ORDER BY h`,
    ).all(...fw.params) as { h: bigint; n: bigint }[];
    return rows.map((r) => ({ key: hourKey(BigInt(r.h) * HOUR_NS), count: Number(r.n) }));
  }

  private rowTs(seq: number): bigint | null {
    const v = this.stmt('SELECT ts FROM events_v2 WHERE seq = ?').pluck().get(seq) as
      bigint | undefined;
    return v === undefined ? null : BigInt(v);
  }

  connectionAt(ip: string, port: number, atNs: bigint): ConnectionAt | null {
    const candidates: { leg: 'client' | 'upstream'; row: EventRow }[] = [];
    const client = this.openByClient.get(ip, port, atNs) as RawRow | undefined;
    const upstream = this.openByUpstream.get(ip, port, atNs) as RawRow | undefined;
    if (client) candidates.push({ leg: 'client', row: toRow(client) });
    if (upstream) candidates.push({ leg: 'upstream', row: toRow(upstream) });
    candidates.sort((a, b) => (a.row.timestampNs > b.row.timestampNs ? -1 : 1));
    for (const c of candidates) {
      // A refused connection-open held the endpoint only for its own instant.
      if (c.row.outcome === 'failure') {
        if (c.row.timestampNs === atNs) return { leg: c.leg, open: c.row, close: null };
        continue;
      }
      const close = c.row.connectionId ? this.ends(c.row.connectionId).close : null;
      if (close === null || close.timestampNs >= atNs) return { leg: c.leg, open: c.row, close };
    }
    return null;
  }

  ends(connectionId: string): { open: EventRow | null; close: EventRow | null } {
    const open = this.openOf.get(connectionId) as RawRow | undefined;
    const close = this.closeOf.get(connectionId) as RawRow | undefined;
    return { open: open ? toRow(open) : null, close: close ? toRow(close) : null };
  }

  firstSequenceOfSource(sourceIp: string): number | null {
    const v = this.firstOfSource.get(sourceIp) as bigint | null;
    return v === null ? null : Number(v);
  }

  /** The query plan SQLite chooses for a search (tests check that indexes are used). */
  explainSearch(f: EventFilter): string[] {
    const q = this.searchSql(this.plan(f), 'DESC', 101);
    return (
      this.db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).all(...q.params) as { detail: string }[]
    ).map((r) => r.detail);
  }

  /** The query plans of the `who` lookups. */
  explainWho(): string[] {
    const plans: string[] = [];
    for (const sql of [
      `SELECT seq FROM events_v2 WHERE action = 'connection-open' AND src_ip = ? AND src_port = ? AND ts <= ? ORDER BY ts DESC LIMIT 1`,
      `SELECT seq FROM events_v2 WHERE action = 'connection-open' AND up_local_ip = ? AND up_local_port = ? AND ts <= ? ORDER BY ts DESC LIMIT 1`,
      `SELECT seq FROM events_v2 WHERE action = 'connection-close' AND conn = ? LIMIT 1`,
    ]) {
      const rows = this.db
        .prepare(`EXPLAIN QUERY PLAN ${sql}`)
        .all(...(sql.includes('conn = ?') ? ['c'] : ['1.2.3.4', 1, 0])) as { detail: string }[];
      plans.push(...rows.map((r) => r.detail));
    }
    return plans;
  }
}

function groupKeyOf(key: Exclude<GroupKey, 'hour'>, r: RawRow): string {
  const v = {
    listener: r.listener,
    user: r.user,
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
