/**
 * The log's rows with every searchable column, as views over `log_v3`.
 *
 * From schema v5 a record is written narrow: sequence, time, id, action, canonical body and
 * leaf hash. Its other searchable columns (tuple, user, text, rule, operation, status…)
 * stay NULL in the log and are read from the body by the views below: binding two dozen
 * more values per insert was the largest part of an append (bench/integrity.ts: ~3 µs of
 * ~10), while the index worker, which copies the columns into the index file, pays for the
 * JSON on its own thread. A row written before v5, and a pruned row (whose body is gone:
 * `pruneSetSql`), holds its columns, and the views read those first.
 *
 * The body is the evidence, so these columns now say what the record says. A body that is
 * not JSON (only tampering or damage make one) would make `json_extract` fail, so the
 * checked view reads such a row's columns as NULL; it costs one `json_valid` per column and
 * row, which searches (the few records the index has not reached) and row reads pay, while
 * the index worker takes the unchecked view and falls back to the checked one for a batch
 * that fails (sqlite-indexer.ts). `verify` names such a record.
 *
 * The views are TEMP, made on each connection (writer, read-only opens, the worker): a
 * read-only open of a v4 log, which a v5 build has not migrated yet, reads the same way.
 */
import type Database from 'better-sqlite3';

/** The views: `LOG_ROWS` for reads, `LOG_ROWS_UNCHECKED` for the index worker. */
export const LOG_ROWS = 'temp.log_rows_v1';
export const LOG_ROWS_UNCHECKED = 'temp.log_rows_unchecked_v1';

/** The columns written with every record; the rest come from the body. */
export const NARROW_COLUMNS = 'seq, ts, id, action, body, leaf';

const j = (path: string) => `json_extract(@b, '$.${path}')`;
/**
 * A member as a TEXT column holds it (what the index's column affinity makes of it, and
 * derive.ts's `text`): a number or a boolean as its text.
 */
const t = (path: string) => `CAST(${j(path)} AS TEXT)`;
/** A member that counts only when it is a string (as the Recorder's `typeof … === 'string'`). */
const str = (path: string) => `CASE WHEN json_type(@b, '$.${path}') = 'text' THEN ${j(path)} END`;

/**
 * Each body column and its expression over the body `@b`: the values the Recorder's
 * AppendedRow and derive.ts compute from the record object (a test compares them).
 */
export const BODY_COLUMNS: readonly (readonly [string, string])[] = [
  ['outcome', t('event.outcome')],
  ['listener', t('listener.name')],
  ['conn', t('connection.id')],
  ['src_ip', t('source.ip')],
  ['src_port', j('source.port')],
  ['dst_ip', t('destination.ip')],
  ['dst_port', j('destination.port')],
  ['up_local_ip', t('upstream.local.ip')],
  ['up_local_port', j('upstream.local.port')],
  ['up_ip', t('upstream.ip')],
  ['up_port', j('upstream.port')],
  ['user', str('user.name')],
  ['community_id', t('network.community_id')],
  [
    'text',
    `COALESCE(${str('db.query.text')}, ${str('redis.command')} || COALESCE(' ' || ${str('redis.key')}, ''), ${str('url.path')})`,
  ],
  ['up_community_id', t('upstream.community_id')],
  ['rule', t('rule.id')],
  ['policy_version', t('policy.version')],
  ['db_namespace', t('db.namespace')],
  [
    'operation',
    `UPPER(COALESCE(${j('db.operation')}, ${j('redis.command')}, ${j('http.request.method')}))`,
  ],
  ['class', t('db.query.class')],
  [
    'status',
    `CAST(COALESCE(${j('db.response.status_code')}, ${j('http.response.status_code')}, ${j('redis.reply.error.code')}) AS TEXT)`,
  ],
  ['node', t('observer.id')],
];

const CHECKED_BODY = 'CASE WHEN json_valid(body) THEN body END';

/** Each body column with `stored value, else the body's`, over the body `b`. */
function bodyColumns(b: string): (readonly [string, string])[] {
  return BODY_COLUMNS.map(([c, e]) => [c, `COALESCE(${c}, ${e.replaceAll('@b', b)})`] as const);
}

function viewSql(name: string, b: string): string {
  const cols = bodyColumns(b).map(([c, e]) => `${e} AS ${c}`);
  return `CREATE TEMP VIEW IF NOT EXISTS ${name.slice('temp.'.length)} AS
  SELECT seq, ts, id, action, ${cols.join(', ')}, body, leaf FROM main.log_v3`;
}

/** Connections that have the views (the index builder asks before every batch). */
const withViews = new WeakSet<Database.Database>();

/** Make the views on a connection to the log (once). */
export function createLogRowsViews(db: Database.Database): void {
  if (withViews.has(db)) return;
  db.exec(viewSql(LOG_ROWS, CHECKED_BODY));
  db.exec(viewSql(LOG_ROWS_UNCHECKED, 'body'));
  withViews.add(db);
}

/**
 * The SET list of a prune, which removes a record's body and its text: every other body
 * column is written into the row first, so the views read from the row what they read
 * from the body before.
 */
export function pruneSetSql(): string {
  const kept = bodyColumns(CHECKED_BODY)
    .filter(([c]) => c !== 'text')
    .map(([c, e]) => `${c} = ${e}`);
  return [...kept, 'body = NULL', 'text = NULL'].join(', ');
}
