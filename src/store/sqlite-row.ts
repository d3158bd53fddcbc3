/** The log_v3 columns as the embedded store writes and reads them (mapped by event-row.ts). */
import type { RawEventRow } from './event-row.js';

/** A log_v3 row as SQLite returns it (integers as bigint). */
export type RawRow = RawEventRow<bigint> & { seq: bigint; ts: bigint };

/**
 * A wide row's own columns (written before schema v5, or for a record without a body); the
 * derived ones follow (sqlite-schema.ts DERIVED_COLUMN_NAMES).
 */
export const WRITTEN_COLUMNS =
  'seq, ts, id, action, outcome, listener, conn, src_ip, src_port, dst_ip, dst_port, up_local_ip, up_local_port, up_ip, up_port, user, community_id, text, body, leaf';

/** The columns a row is read with, under the names of RawEventRow (`user` is `user_name`). */
export const COLUMNS = `${WRITTEN_COLUMNS.replace('user,', 'user AS user_name,')}, up_community_id, rule, policy_version, db_namespace, operation, class, status, node`;
