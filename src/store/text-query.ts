/**
 * `--text` as an FTS5 query. The words of the text (runs of letters and digits, as the
 * unicode61 tokenizer splits them) must appear in that order, next to each other; case,
 * accents and punctuation are ignored. A trailing `*` makes the last word a prefix.
 *
 *   `delete from orders`  → "delete from orders"    (phrase)
 *   `order_items`         → "order items"           (the tokenizer splits on `_` too)
 *   `pg_sleep*`           → "pg sleep" *            (last word a prefix: pg_sleep, pg_sleep_for)
 */

const WORD = /[\p{L}\p{N}]+/gu;

/** The FTS5 MATCH expression for `text`, or null when it has no word (then: substring). */
export function ftsQuery(text: string): string | null {
  const words = text.match(WORD);
  if (!words || words.length === 0) return null;
  const prefix = /\*\s*$/.test(text);
  // Words hold only letters and digits, so they need no quoting inside the phrase.
  return `"${words.join(' ')}"${prefix ? ' *' : ''}`;
}

/** LIKE pattern for a substring match (used only when the text has no word at all). */
export function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Lower-cased, accent-free words, as the unicode61 tokenizer (remove_diacritics 2) sees them:
 * what every text match compares (the embedded store's tail, the PostgreSQL stores' `words`
 * columns, the API's live tail).
 */
export function searchWords(text: string): string[] {
  return text.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase().match(WORD) ?? [];
}

/**
 * The same match as the FTS5 query, in memory: for the newest records, which the store
 * adds to the full-text index in batches (see sqlite-store.ts), and for the live tail.
 */
export function textMatches(query: string, text: string | null): boolean {
  if (text === null) return false;
  const want = searchWords(query);
  if (want.length === 0) return text.includes(query);
  const have = searchWords(text);
  const prefix = /\*\s*$/.test(query);
  for (let i = 0; i + want.length <= have.length; i++) {
    let ok = true;
    for (let j = 0; j < want.length && ok; j++) {
      const h = have[i + j] ?? '';
      const w = want[j] ?? '';
      ok = prefix && j === want.length - 1 ? h.startsWith(w) : h === w;
    }
    if (ok) return true;
  }
  return false;
}
