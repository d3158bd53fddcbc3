/** Compiles an EventFilter into a parameterized SQLite WHERE clause. */
import type { EventFilter } from './filter.js';

export interface CompiledWhere {
  readonly sql: string;
  readonly params: (string | number | bigint)[];
}

export function compileWhere(f: EventFilter, withCursor: boolean): CompiledWhere {
  const clauses: string[] = [];
  const params: (string | number | bigint)[] = [];
  if (f.listener !== undefined) {
    clauses.push('listener = ?');
    params.push(f.listener);
  }
  if (f.actions !== undefined && f.actions.length > 0) {
    clauses.push(`action IN (${f.actions.map(() => '?').join(',')})`);
    params.push(...f.actions);
  }
  if (f.sourceIp !== undefined) {
    clauses.push('src_ip = ?');
    params.push(f.sourceIp);
  }
  if (f.sourcePort !== undefined) {
    clauses.push('src_port = ?');
    params.push(f.sourcePort);
  }
  if (f.upstreamLocalIp !== undefined) {
    clauses.push('up_local_ip = ?');
    params.push(f.upstreamLocalIp);
  }
  if (f.upstreamLocalPort !== undefined) {
    clauses.push('up_local_port = ?');
    params.push(f.upstreamLocalPort);
  }
  if (f.port !== undefined) {
    clauses.push('(src_port = ? OR dst_port = ? OR up_local_port = ? OR up_port = ?)');
    params.push(f.port, f.port, f.port, f.port);
  }
  if (f.user !== undefined) {
    clauses.push('user = ?');
    params.push(f.user);
  }
  if (f.outcome !== undefined) {
    clauses.push('outcome = ?');
    params.push(f.outcome);
  }
  if (f.sinceNs !== undefined) {
    clauses.push('ts >= ?');
    params.push(f.sinceNs);
  }
  if (f.untilNs !== undefined) {
    clauses.push('ts < ?');
    params.push(f.untilNs);
  }
  if (f.text !== undefined && f.text !== '') {
    clauses.push("text LIKE ? ESCAPE '\\'");
    params.push(`%${f.text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
  }
  if (f.connectionId !== undefined) {
    clauses.push('conn = ?');
    params.push(f.connectionId);
  }
  if (f.communityId !== undefined) {
    clauses.push('community_id = ?');
    params.push(f.communityId);
  }
  if (withCursor && f.after !== undefined) {
    clauses.push(f.order === 'oldest' ? 'seq > ?' : 'seq < ?');
    params.push(f.after);
  }
  return { sql: clauses.length > 0 ? `WHERE ${clauses.join(' AND ')}` : '', params };
}
