/**
 * The two parts every SQLite read runs over (sqlite-schema.ts): records before
 * `indexed_upto` through the index file's `events_v3`, the newer tail straight from the log
 * (its `log_v3` rows with their columns read from the body: sqlite-log-rows.ts). This file
 * holds what searches and lookups share: the statement cache, where the index stands, rows
 * by sequence (always from the log: body and leaf live only there), and the newest/oldest
 * sequence matching a condition across both parts.
 */
import type Database from 'better-sqlite3';
import { toEventRow } from './event-row.js';
import { LOG_ROWS } from './sqlite-log-rows.js';
import { COLUMNS, type RawRow } from './sqlite-row.js';
import type { EventRow } from './types.js';

export const INDEX = 'idx.events_v3';
export const LOG = LOG_ROWS;
/** The log's table itself, for what needs no body column (sequence and time). */
const LOG_TABLE = 'main.log_v3';
export const FTS = 'idx.events_fts_v3';

export type Dir = 'ASC' | 'DESC';

export class SqliteReader {
  readonly db: Database.Database;
  /** False when the index file is missing (a read-only open): everything is tail. */
  private readonly hasIndex: boolean;
  private readonly cache = new Map<string, Database.Statement>();

  constructor(db: Database.Database, hasIndex: boolean) {
    this.db = db;
    this.hasIndex = hasIndex;
  }

  /** A prepared statement, made once per SQL text (a small cache). */
  stmt(sql: string): Database.Statement {
    let s = this.cache.get(sql);
    if (s === undefined) {
      if (this.cache.size >= 256) this.cache.clear();
      s = this.db.prepare(sql);
      this.cache.set(sql, s);
    }
    return s;
  }

  /** Records before this sequence are in the index. */
  upto(): number {
    if (!this.hasIndex) return 0;
    const v = this.stmt("SELECT value FROM idx.index_meta WHERE key = 'indexed_upto'")
      .pluck()
      .get() as string | undefined;
    return v === undefined ? 0 : Number(v);
  }

  /** One past the log's last sequence. */
  end(): number {
    const v = this.stmt(`SELECT MAX(seq) FROM ${LOG_TABLE}`).pluck().get() as bigint | null;
    return v === null ? 0 : Number(v) + 1;
  }

  /** Full rows for the given sequences, from the log, in `dir` order. */
  rowsOf(seqs: readonly (bigint | number)[], dir: Dir): RawRow[] {
    if (seqs.length === 0) return [];
    return this.stmt(
      `SELECT ${COLUMNS} FROM ${LOG} WHERE seq IN (SELECT value FROM json_each(?)) ORDER BY seq ${dir}`,
    ).all(JSON.stringify(seqs.map(Number))) as RawRow[];
  }

  rowAt(seq: bigint | number | undefined | null): EventRow | null {
    if (seq === undefined || seq === null) return null;
    const r = this.stmt(`SELECT ${COLUMNS} FROM ${LOG} WHERE seq = ?`).get(seq) as
      RawRow | undefined;
    return r ? toEventRow(r) : null;
  }

  /** The timestamp of one record. */
  rowTs(seq: number): bigint | null {
    const v = this.stmt(`SELECT ts FROM ${LOG_TABLE} WHERE seq = ?`).pluck().get(seq) as
      bigint | undefined;
    return v === undefined ? null : BigInt(v);
  }

  /** The first sequence whose timestamp is at or after `ns` (time and sequence grow together). */
  seqAt(ns: bigint, upto: number): number | null {
    if (upto > 0) {
      const v = this.stmt(`SELECT seq FROM ${INDEX} WHERE ts >= ? ORDER BY ts LIMIT 1`)
        .pluck()
        .get(ns) as bigint | undefined;
      if (v !== undefined) return Number(v);
    }
    const t = this.stmt(
      `SELECT seq FROM ${LOG_TABLE} WHERE seq >= ? AND ts >= ? ORDER BY seq LIMIT 1`,
    )
      .pluck()
      .get(upto, ns) as bigint | undefined;
    return t === undefined ? null : Number(t);
  }

  /** The newest sequence matching `where` (tail first, then the index). */
  newest(where: string, params: readonly unknown[], orderBy: 'ts' | 'seq'): bigint | undefined {
    const upto = this.upto();
    const t = this.stmt(
      `SELECT seq FROM ${LOG} WHERE seq >= ? AND ${where} ORDER BY seq DESC LIMIT 1`,
    )
      .pluck()
      .get(upto, ...params) as bigint | undefined;
    if (t !== undefined || upto === 0) return t;
    return this.stmt(`SELECT seq FROM ${INDEX} WHERE ${where} ORDER BY ${orderBy} DESC LIMIT 1`)
      .pluck()
      .get(...params) as bigint | undefined;
  }

  /** The oldest sequence matching `where` (the index first, then the tail). */
  oldest(where: string, params: readonly unknown[]): bigint | undefined {
    const upto = this.upto();
    if (upto > 0) {
      const i = this.stmt(`SELECT MIN(seq) FROM ${INDEX} WHERE ${where}`)
        .pluck()
        .get(...params) as bigint | null;
      if (i !== null) return i;
    }
    const t = this.stmt(`SELECT MIN(seq) FROM ${LOG} WHERE seq >= ? AND ${where}`)
      .pluck()
      .get(upto, ...params) as bigint | null;
    return t ?? undefined;
  }

  /** The query plan SQLite chooses for `sql` (tests check index use). */
  plan(sql: string, params: readonly unknown[]): string[] {
    return (
      this.db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]
    ).map((r) => r.detail);
  }
}
