/**
 * Rows of the PostgreSQL store: an EventRow as the column arrays of a multi-row INSERT
 * (derived columns filled like the embedded store fills them, search words computed). A row
 * read back is mapped by ../event-row.ts, like the embedded store's.
 *
 * PostgreSQL text cannot hold NUL, which SQLite and a hostile statement can: NUL in an
 * indexed column is stored as U+FFFD (the body, canonical JSON, escapes it and is stored
 * unchanged, so leaf hashes and verification are unaffected). A port outside int4 is stored
 * as NULL rather than failing the commit.
 */
import { deriveColumns, type DerivedColumns } from '../derive.js';
import { searchWords } from '../text-query.js';
import type { EventRow } from '../types.js';
import { EVENT_COLUMNS } from './schema.js';

// The same words the embedded store's tokenizer and its in-memory matcher see.
export { searchWords };

/** Longest lexeme kept in `tsv` (longer words are cut here and in queries alike). */
const MAX_LEXEME = 200;
/** Above this many bytes of distinct words a text gets no `tsv` (tsvector max is 1 MB). */
const MAX_LEXEME_BYTES = 256 * 1024;

export function lexeme(word: string): string {
  return word.length <= MAX_LEXEME ? word : Array.from(word).slice(0, MAX_LEXEME).join('');
}

/** `words` column: ' w1 w2 … ' (null for no text). */
export function wordsColumn(text: string | null): { words: string | null; lexemes: string | null } {
  if (text === null) return { words: null, lexemes: null };
  const words = searchWords(text);
  const distinct = [...new Set(words.map(lexeme))];
  let bytes = 0;
  for (const w of distinct) bytes += Buffer.byteLength(w) + 1;
  return {
    words: ` ${words.join(' ')} `,
    lexemes: bytes > MAX_LEXEME_BYTES ? null : distinct.join(' '),
  };
}

/** Text as PostgreSQL can hold it: NUL as U+FFFD. */
export function pgText<T extends string | null>(v: T): T {
  return (v !== null && v.includes('\0') ? v.replaceAll('\0', '\uFFFD') : v) as T;
}

function clean(v: string | null | undefined): string | null {
  return v === undefined ? null : pgText(v);
}

function int4(v: number | null | undefined): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647
    ? v
    : null;
}

/** Writers that do not pass derived columns (ingest, tests) get them from the body. */
function derived(row: EventRow): Partial<DerivedColumns> {
  if (row.node !== undefined) return row as EventRow & DerivedColumns;
  if (row.body === null) return {};
  try {
    return deriveColumns(JSON.parse(row.body) as Record<string, unknown>);
  } catch {
    return {};
  }
}

/** The values of one row, in EVENT_COLUMNS order, and its lexemes. */
export function rowValues(row: EventRow): { values: unknown[]; lexemes: string | null } {
  const d = derived(row);
  const text = clean(row.text);
  const w = wordsColumn(text);
  const byName: Record<(typeof EVENT_COLUMNS)[number][0], unknown> = {
    seq: row.sequence,
    ts: row.timestampNs.toString(),
    id: clean(row.id),
    action: clean(row.action),
    outcome: clean(row.outcome),
    listener: clean(row.listener),
    conn: clean(row.connectionId),
    src_ip: clean(row.sourceIp),
    src_port: int4(row.sourcePort),
    dst_ip: clean(row.destinationIp),
    dst_port: int4(row.destinationPort),
    up_local_ip: clean(row.upstreamLocalIp),
    up_local_port: int4(row.upstreamLocalPort),
    up_ip: clean(row.upstreamIp),
    up_port: int4(row.upstreamPort),
    user_name: clean(row.user),
    community_id: clean(row.communityId),
    up_community_id: clean(d.upstreamCommunityId),
    rule: clean(d.rule),
    policy_version: clean(d.policyVersion),
    db_namespace: clean(d.dbNamespace),
    operation: clean(d.operation),
    class: clean(d.statementClass),
    status: clean(d.status),
    node: clean(d.node),
    text,
    words: w.words,
    body: row.body,
    leaf: row.leafHash,
  };
  return { values: EVENT_COLUMNS.map(([c]) => byName[c]), lexemes: w.lexemes };
}
