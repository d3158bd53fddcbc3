/** The shape of one command-table entry (the table itself is generated: command-table.ts). */

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
