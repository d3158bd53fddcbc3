/** The shape of one command-table entry, and how a generated row (command-table.ts) decodes. */

/** Where a movable-keys command's first key is, from its first COMMAND INFO key spec. */
export type RedisKeySpec =
  | {
      /** The search begins at this argv index. */
      readonly beginIndex: number;
      /** Offset from the begin of the numkeys argument; -1 when keys are a plain range. */
      readonly numKeysAt: number;
      /** Offset from the begin of the first key. */
      readonly firstKeyAt: number;
    }
  | {
      /** The search begins after this keyword (e.g. STREAMS). */
      readonly beginKeyword: string;
      /** Where the keyword search starts; negative counts from the end. */
      readonly startFrom: number;
      readonly numKeysAt: number;
      readonly firstKeyAt: number;
    };

/** One command or subcommand as Redis describes it in COMMAND INFO. */
export interface RedisCommandSpec {
  /** Argument count including the name; negative means "at least". */
  readonly arity: number;
  readonly flags: readonly string[];
  /** Legacy argv index of the first key; 0 when none or movable. */
  readonly firstKey: number;
  /** ACL categories without the `@`. */
  readonly categories: readonly string[];
  /** First key spec, only for movable-keys commands. */
  readonly keySpec: RedisKeySpec | undefined;
}

/** A generated row: arity, flags, legacy first key, ACL categories, first key spec (movable keys only). */
export type CommandRow = readonly [
  number,
  string,
  number,
  string,
  (readonly [number | string, number, number, number])?,
];

function toKeySpec(row: CommandRow): RedisKeySpec | undefined {
  const spec = row[4];
  if (spec === undefined) return undefined;
  const [begin, startFrom, numKeysAt, firstKeyAt] = spec;
  return typeof begin === 'number'
    ? { beginIndex: begin, numKeysAt, firstKeyAt }
    : { beginKeyword: begin, startFrom, numKeysAt, firstKeyAt };
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
        keySpec: toKeySpec(row),
      },
    ]),
  );
}
