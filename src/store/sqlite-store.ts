/**
 * The embedded store: SQLite through better-sqlite3 in WAL mode. Every statement is
 * prepared once. `synchronous=NORMAL` makes a commit durable against a process crash
 * (kill -9); `fsync: true` selects `synchronous=FULL`, durable against power loss.
 */
import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { PortwardenError, errorMessage } from '../errors.js';
import type { EventFilter } from './filter.js';
import { MAX_PAGE } from './filter.js';
import { compileWhere } from './sqlite-query.js';
import { SCHEMA_SQL, SCHEMA_VERSION } from './sqlite-schema.js';
import type { CheckpointRow, EventRow, GroupKey, Page, Store } from './types.js';

interface RawRow {
  seq: number;
  ts: bigint;
  id: string;
  action: string;
  outcome: string | null;
  listener: string | null;
  conn: string | null;
  src_ip: string | null;
  src_port: number | null;
  dst_ip: string | null;
  dst_port: number | null;
  up_local_ip: string | null;
  up_local_port: number | null;
  up_ip: string | null;
  up_port: number | null;
  user: string | null;
  community_id: string | null;
  text: string | null;
  body: string | null;
  leaf: Buffer;
}

const COLUMNS =
  'seq, ts, id, action, outcome, listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, user, community_id, text, body, leaf';

function toRow(r: RawRow): EventRow {
  return {
    sequence: Number(r.seq),
    timestampNs: BigInt(r.ts),
    id: r.id,
    action: r.action,
    outcome: r.outcome,
    listener: r.listener,
    connectionId: r.conn,
    sourceIp: r.src_ip,
    sourcePort: r.src_port === null ? null : Number(r.src_port),
    destinationIp: r.dst_ip,
    destinationPort: r.dst_port === null ? null : Number(r.dst_port),
    upstreamLocalIp: r.up_local_ip,
    upstreamLocalPort: r.up_local_port === null ? null : Number(r.up_local_port),
    upstreamIp: r.up_ip,
    upstreamPort: r.up_port === null ? null : Number(r.up_port),
    user: r.user,
    communityId: r.community_id,
    text: r.text,
    body: r.body,
    leafHash: r.leaf,
  };
}

export interface SqliteStoreOptions {
  readonly fsync?: boolean;
  readonly readonly?: boolean;
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private readonly db: Database.Database;
  private readonly stmts: ReturnType<SqliteStore['prepare']>;

  constructor(path: string, options: SqliteStoreOptions = {}) {
    this.path = path;
    try {
      if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
      this.db = new Database(path, {
        readonly: options.readonly ?? false,
        fileMustExist: options.readonly ?? false,
      });
      this.db.defaultSafeIntegers(true);
      if (!options.readonly) {
        this.db.pragma('journal_mode = WAL');
        this.db.pragma(`synchronous = ${options.fsync ? 'FULL' : 'NORMAL'}`);
        this.db.exec(SCHEMA_SQL);
        const found = this.db
          .prepare("SELECT value FROM meta WHERE key = 'schema_version'")
          .pluck()
          .get() as string | undefined;
        if (found !== undefined && Number(found) > SCHEMA_VERSION) {
          throw new PortwardenError('PW_ERR_STORE_SCHEMA', { found, expected: SCHEMA_VERSION });
        }
        this.db
          .prepare("INSERT OR REPLACE INTO meta (key, value) VALUES ('schema_version', ?)")
          .run(String(SCHEMA_VERSION));
      }
      this.db.pragma('busy_timeout = 5000');
    } catch (err) {
      if (err instanceof PortwardenError) throw err;
      throw new PortwardenError(
        'PW_ERR_STORE',
        { detail: `${path}: ${errorMessage(err)}` },
        { cause: err },
      );
    }
    this.stmts = this.prepare();
  }

  private prepare() {
    const db = this.db;
    const ro = (sql: string) => db.prepare(sql);
    return {
      insert: db.prepare(
        `INSERT INTO events_v1 (${COLUMNS}) VALUES (@seq, @ts, @id, @action, @outcome, @listener, @conn, @src_ip, @src_port, @dst_ip, @dst_port, @up_local_ip, @up_local_port, @up_ip, @up_port, @user, @community_id, @text, @body, @leaf)`,
      ),
      maxSeq: ro('SELECT MAX(seq) FROM events_v1').pluck(),
      maxTs: ro('SELECT MAX(ts) FROM events_v1').pluck(),
      bySeq: ro(`SELECT ${COLUMNS} FROM events_v1 WHERE seq = ?`),
      byId: ro(`SELECT ${COLUMNS} FROM events_v1 WHERE id = ?`),
      iterate: ro(`SELECT ${COLUMNS} FROM events_v1 WHERE seq >= ? AND seq < ? ORDER BY seq`),
      getNode: ro('SELECT hash FROM tree_v1 WHERE level = ? AND idx = ?').pluck(),
      putNode: db.prepare('INSERT OR REPLACE INTO tree_v1 (level, idx, hash) VALUES (?, ?, ?)'),
      insertCheckpoint: db.prepare(
        'INSERT OR REPLACE INTO checkpoints_v1 (size, ts, root, note) VALUES (?, ?, ?, ?)',
      ),
      checkpoints: ro('SELECT size, ts, root, note FROM checkpoints_v1 ORDER BY size'),
      latestCheckpoint: ro(
        'SELECT size, ts, root, note FROM checkpoints_v1 ORDER BY size DESC LIMIT 1',
      ),
      getMeta: ro('SELECT value FROM meta WHERE key = ?').pluck(),
      setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    };
  }

  transaction(fn: () => void): void {
    this.db.transaction(fn)();
  }

  insertEvent(row: EventRow): void {
    this.stmts.insert.run({
      seq: row.sequence,
      ts: row.timestampNs,
      id: row.id,
      action: row.action,
      outcome: row.outcome,
      listener: row.listener,
      conn: row.connectionId,
      src_ip: row.sourceIp,
      src_port: row.sourcePort,
      dst_ip: row.destinationIp,
      dst_port: row.destinationPort,
      up_local_ip: row.upstreamLocalIp,
      up_local_port: row.upstreamLocalPort,
      up_ip: row.upstreamIp,
      up_port: row.upstreamPort,
      user: row.user,
      community_id: row.communityId,
      text: row.text,
      body: row.body,
      leaf: row.leafHash,
    });
  }

  nextSequence(): number {
    const max = this.stmts.maxSeq.get() as bigint | null;
    return max === null ? 0 : Number(max) + 1;
  }

  lastTimestampNs(): bigint {
    const max = this.stmts.maxTs.get() as bigint | null;
    return max ?? 0n;
  }

  getBySequence(sequence: number): EventRow | undefined {
    const r = this.stmts.bySeq.get(sequence) as RawRow | undefined;
    return r ? toRow(r) : undefined;
  }

  getById(id: string): EventRow | undefined {
    const r = this.stmts.byId.get(id) as RawRow | undefined;
    return r ? toRow(r) : undefined;
  }

  *iterate(from = 0, to = Number.MAX_SAFE_INTEGER): IterableIterator<EventRow> {
    for (const r of this.stmts.iterate.iterate(from, to) as IterableIterator<RawRow>)
      yield toRow(r);
  }

  search(filter: EventFilter): Page {
    const limit = Math.max(1, Math.min(filter.limit ?? 100, MAX_PAGE));
    const where = compileWhere(filter, true);
    const order = filter.order === 'oldest' ? 'ASC' : 'DESC';
    const raw = this.db
      .prepare(`SELECT ${COLUMNS} FROM events_v1 ${where.sql} ORDER BY seq ${order} LIMIT ?`)
      .all(...where.params, limit + 1) as RawRow[];
    const rows = raw.slice(0, limit).map(toRow);
    const last = rows[rows.length - 1];
    return { rows, next: raw.length > limit && last ? last.sequence : null };
  }

  count(filter: EventFilter): number {
    const where = compileWhere(filter, false);
    const n = this.db
      .prepare(`SELECT COUNT(*) FROM events_v1 ${where.sql}`)
      .pluck()
      .get(...where.params) as bigint;
    return Number(n);
  }

  groupBy(filter: EventFilter, key: GroupKey): { key: string; count: number }[] {
    const expr = {
      listener: "COALESCE(listener, '-')",
      user: "COALESCE(user, '-')",
      source: "COALESCE(src_ip, '-')",
      action: 'action',
      outcome: "COALESCE(outcome, '-')",
      hour: "strftime('%Y-%m-%dT%H:00Z', ts / 1000000000, 'unixepoch')",
    }[key];
    const where = compileWhere(filter, false);
    const rows = this.db
      .prepare(
        `SELECT ${expr} AS k, COUNT(*) AS n FROM events_v1 ${where.sql} GROUP BY k ORDER BY ${key === 'hour' ? 'k' : 'n DESC'} LIMIT 10000`,
      )
      .all(...where.params) as { k: string; n: bigint }[];
    return rows.map((r) => ({ key: r.k, count: Number(r.n) }));
  }

  getNode(level: number, index: number): Buffer | undefined {
    return this.stmts.getNode.get(level, index) as Buffer | undefined;
  }

  putNode(level: number, index: number, hash: Buffer): void {
    this.stmts.putNode.run(level, index, hash);
  }

  insertCheckpoint(row: CheckpointRow): void {
    this.stmts.insertCheckpoint.run(row.size, row.timestampNs, row.root, row.note);
  }

  checkpoints(): CheckpointRow[] {
    return (
      this.stmts.checkpoints.all() as { size: bigint; ts: bigint; root: Buffer; note: string }[]
    ).map(toCheckpoint);
  }

  latestCheckpoint(): CheckpointRow | undefined {
    const r = this.stmts.latestCheckpoint.get() as
      { size: bigint; ts: bigint; root: Buffer; note: string } | undefined;
    return r ? toCheckpoint(r) : undefined;
  }

  pruneBodies(beforeNs: bigint): { from: number; to: number; count: number } | null {
    const range = this.db
      .prepare(
        'SELECT MIN(seq) AS a, MAX(seq) AS b, COUNT(*) AS n FROM events_v1 WHERE ts < ? AND body IS NOT NULL',
      )
      .get(beforeNs) as { a: bigint | null; b: bigint | null; n: bigint };
    if (range.a === null || range.b === null) return null;
    this.db
      .prepare('UPDATE events_v1 SET body = NULL, text = NULL WHERE ts < ? AND body IS NOT NULL')
      .run(beforeNs);
    return { from: Number(range.a), to: Number(range.b), count: Number(range.n) };
  }

  getMeta(key: string): string | undefined {
    return this.stmts.getMeta.get(key) as string | undefined;
  }

  setMeta(key: string, value: string): void {
    this.stmts.setMeta.run(key, value);
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function toCheckpoint(r: { size: bigint; ts: bigint; root: Buffer; note: string }): CheckpointRow {
  return { size: Number(r.size), timestampNs: BigInt(r.ts), root: r.root, note: r.note };
}
