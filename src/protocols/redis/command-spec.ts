/** The shape of one command-table entry, and how a generated row (command-table.ts) decodes. */

/** Where a key spec's search for keys begins — COMMAND INFO `begin_search`. */
export type RedisKeyBegin =
  /** At this argv index. */
  | { readonly kind: 'index'; readonly index: number }
  /** After this keyword, searched from `startFrom` (negative: from the end, backwards). */
  | { readonly kind: 'keyword'; readonly keyword: string; readonly startFrom: number }
  /** Not describable: the command's own key-extraction code knows (SORT's STORE, BY, GET). */
  | { readonly kind: 'unknown' };

/** How a key spec finds keys once it began — COMMAND INFO `find_keys`. */
export type RedisKeyFind =
  /** Keys up to `lastKey` (negative: from the end), every `step`; `limit` > 0 divides the rest. */
  | {
      readonly kind: 'range';
      readonly lastKey: number;
      readonly step: number;
      readonly limit: number;
    }
  /** A count at begin+`numKeysAt`, the keys from begin+`firstKeyAt`, every `step`. */
  | {
      readonly kind: 'keynum';
      readonly numKeysAt: number;
      readonly firstKeyAt: number;
      readonly step: number;
    }
  | { readonly kind: 'unknown' };

/** One key spec of a command (Redis 7 "key specifications"). */
export interface RedisKeySpec {
  readonly begin: RedisKeyBegin;
  readonly find: RedisKeyFind;
  /** Some keys may be found only by the command's own code (flag `incomplete`). */
  readonly incomplete: boolean;
  /** The "keys" are not keys (shard channels of SSUBSCRIBE, SPUBLISH): flag `not_key`. */
  readonly notKey: boolean;
}

/** One command or subcommand as Redis describes it in COMMAND INFO. */
export interface RedisCommandSpec {
  /** Argument count including the name; negative means "at least". */
  readonly arity: number;
  readonly flags: readonly string[];
  /** Legacy argv index of the first key; 0 when none or movable. */
  readonly firstKey: number;
  /** ACL categories without the `@`. */
  readonly categories: readonly string[];
  /** Every key spec, in COMMAND INFO order; empty for commands without keys. */
  readonly keySpecs: readonly RedisKeySpec[];
}

/**
 * A generated key spec: begin (index, keyword, or null when unknown), keyword search start,
 * find kind and its three numbers (range: lastkey, keystep, limit; keynum: keynumidx,
 * firstkey, keystep), flags (`incomplete`, `not_key`).
 */
export type KeySpecRow = readonly [
  number | string | null,
  number,
  'range' | 'keynum' | 'unknown',
  number,
  number,
  number,
  string,
];

/** A generated row: arity, flags, legacy first key, ACL categories, key specs (when it has keys). */
export type CommandRow = readonly [number, string, number, string, (readonly KeySpecRow[])?];

function toKeySpec(row: KeySpecRow): RedisKeySpec {
  const [begin, startFrom, kind, a, b, c, flags] = row;
  const flagList = flags === '' ? [] : flags.split(' ');
  return {
    begin:
      typeof begin === 'number'
        ? { kind: 'index', index: begin }
        : typeof begin === 'string'
          ? { kind: 'keyword', keyword: begin.toLowerCase(), startFrom }
          : { kind: 'unknown' },
    find:
      kind === 'range'
        ? { kind, lastKey: a, step: b, limit: c }
        : kind === 'keynum'
          ? { kind, numKeysAt: a, firstKeyAt: b, step: c }
          : { kind: 'unknown' },
    incomplete: flagList.includes('incomplete'),
    notKey: flagList.includes('not_key'),
  };
}

/** Decode the generated rows into specs, by lower-case name (`config|set` for subcommands). */
export function decodeCommandRows(
  rows: Readonly<Record<string, CommandRow>>,
): ReadonlyMap<string, RedisCommandSpec> {
  return new Map(
    Object.entries(rows).map(([name, row]) => [
      name,
      {
        arity: row[0],
        flags: row[1] === '' ? [] : row[1].split(' '),
        firstKey: row[2],
        categories: row[3] === '' ? [] : row[3].split(' '),
        keySpecs: (row[4] ?? []).map(toKeySpec),
      },
    ]),
  );
}
