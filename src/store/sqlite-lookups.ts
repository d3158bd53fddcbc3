/**
 * The SQLite store's correlation lookups: `who` held an endpoint at an instant, a
 * connection's open and close, the first record of a source, a record by id. Each is one
 * or two newest/oldest probes over both parts of the store (sqlite-reader.ts).
 */
import { INDEX, type SqliteReader } from './sqlite-reader.js';
import type { ConnectionAt, EventRow } from './types.js';

/** The `who` lookups: the newest connection-open on one leg of an endpoint. */
const OPEN_BY = {
  client: "action = 'connection-open' AND src_ip = ? AND src_port = ? AND ts <= ?",
  upstream: "action = 'connection-open' AND up_local_ip = ? AND up_local_port = ? AND ts <= ?",
} as const;

export class SqliteLookups {
  private readonly r: SqliteReader;

  constructor(reader: SqliteReader) {
    this.r = reader;
  }

  connectionAt(ip: string, port: number, atNs: bigint): ConnectionAt | null {
    const candidates: { leg: 'client' | 'upstream'; row: EventRow }[] = [];
    for (const leg of ['client', 'upstream'] as const) {
      const row = this.r.rowAt(this.r.newest(OPEN_BY[leg], [ip, port, atNs], 'ts'));
      if (row) candidates.push({ leg, row });
    }
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
    return {
      open: this.r.rowAt(this.r.oldest("conn = ? AND action = 'connection-open'", [connectionId])),
      close: this.r.rowAt(
        this.r.oldest("conn = ? AND action = 'connection-close'", [connectionId]),
      ),
    };
  }

  firstSequenceOfSource(sourceIp: string): number | null {
    const v = this.r.oldest('src_ip = ?', [sourceIp]);
    return v === undefined ? null : Number(v);
  }

  /** A record by its id. */
  byId(id: string): EventRow | null {
    return this.r.rowAt(this.r.oldest('id = ?', [id]));
  }

  /** The query plans of the `who` lookups on the index. */
  explainWho(): string[] {
    return [
      ...this.r.plan(`SELECT seq FROM ${INDEX} WHERE ${OPEN_BY.client} ORDER BY ts DESC LIMIT 1`, [
        '1.2.3.4',
        1,
        0,
      ]),
      ...this.r.plan(
        `SELECT seq FROM ${INDEX} WHERE ${OPEN_BY.upstream} ORDER BY ts DESC LIMIT 1`,
        ['1.2.3.4', 1, 0],
      ),
      ...this.r.plan(
        `SELECT MIN(seq) FROM ${INDEX} WHERE conn = ? AND action = 'connection-close'`,
        ['c'],
      ),
    ];
  }
}
