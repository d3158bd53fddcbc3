/**
 * Command lookup: argv → the command (with subcommand for containers like CONFIG), its ACL
 * categories and where its first key is. Built from the generated command-table.ts.
 */
import { decodeCommandRows, type RedisCommandSpec } from './command-spec.js';
import { REDIS_COMMAND_ROWS } from './command-table.js';

/** Every command Redis knows, decoded once from the generated table. */
export const REDIS_COMMANDS: ReadonlyMap<string, RedisCommandSpec> =
  decodeCommandRows(REDIS_COMMAND_ROWS);

/** Longest command name kept in a record; longer names are not real commands anyway. */
const MAX_NAME = 64;
/** Categories of a command the table does not know: policy treats it as most privileged. */
export const UNKNOWN_CATEGORIES: readonly string[] = ['unknown'];

/**
 * Arguments the session reads for connection state, beyond name and key: CLIENT REPLY's
 * mode, AUTH's username, HELLO's version and AUTH username (anywhere among its options).
 */
const STATE_ARGS: Readonly<Record<string, number>> = {
  'client|reply': 3,
  auth: 2,
  hello: Number.POSITIVE_INFINITY,
};

/** Container commands (those with `name|sub` entries), found once at load. */
const CONTAINERS: ReadonlySet<string> = new Set(
  [...REDIS_COMMANDS.keys()].filter((n) => n.includes('|')).map((n) => n.split('|')[0] ?? ''),
);

/** A command as policy and the record see it. */
export interface ResolvedCommand {
  /** Lower-case name, with the subcommand for containers (`config|set`). */
  readonly name: string;
  /** ACL categories without `@`; `['unknown']` when the table does not know it. */
  readonly categories: readonly string[];
  readonly spec: RedisCommandSpec | undefined;
  /** argv index of the first key, or -1 when there is none (or it was not captured). */
  readonly firstKeyIndex: number;
}

function lower(arg: Buffer | undefined): string {
  return (arg ?? Buffer.alloc(0)).toString('latin1', 0, MAX_NAME).toLowerCase();
}

/** Resolves a command from its first captured arguments and its full argument count. */
export function resolveCommand(args: readonly Buffer[], argc: number): ResolvedCommand {
  const base = lower(args[0]);
  let name = base;
  let spec = REDIS_COMMANDS.get(base);
  if (spec !== undefined && CONTAINERS.has(base) && argc >= 2) {
    name = `${base}|${lower(args[1])}`;
    spec = REDIS_COMMANDS.get(name);
  }
  if (spec === undefined) {
    return { name, categories: UNKNOWN_CATEGORIES, spec, firstKeyIndex: -1 };
  }
  return {
    name,
    categories: spec.categories,
    spec,
    firstKeyIndex: firstKeyIndex(spec, args, argc),
  };
}

/** Finds the first key like Redis' getKeysUsingKeySpecs, within the captured arguments. */
function firstKeyIndex(spec: RedisCommandSpec, args: readonly Buffer[], argc: number): number {
  if (spec.firstKey > 0) return spec.firstKey < argc ? spec.firstKey : -1;
  const keySpec = spec.keySpec;
  if (keySpec === undefined) return -1;
  let begin: number;
  if ('beginIndex' in keySpec) begin = keySpec.beginIndex;
  else {
    const keyword = keySpec.beginKeyword.toLowerCase();
    const forward = keySpec.startFrom >= 0;
    const start = forward ? keySpec.startFrom : argc + keySpec.startFrom;
    begin = -1;
    for (let i = start; forward ? i < argc : i > 0; i += forward ? 1 : -1) {
      const arg = args[i];
      if (arg === undefined) return -1;
      if (lower(arg) === keyword) {
        begin = i + 1; // keys start after the keyword
        break;
      }
    }
    if (begin < 0) return -1;
  }
  if (keySpec.numKeysAt >= 0) {
    const numKeys = Number(lower(args[begin + keySpec.numKeysAt]));
    if (!Number.isInteger(numKeys) || numKeys <= 0) return -1;
  }
  const index = begin + keySpec.firstKeyAt;
  return index < argc ? index : -1;
}

/**
 * Whether the leading arguments read so far are enough to resolve the command and find its
 * first key, so the rest (values) need not be held before policy decides.
 */
export function headComplete(args: readonly Buffer[], argc: number, maxArgs: number): boolean {
  if (args.length >= maxArgs || args.length >= argc) return true;
  if (args.length === 0) return false;
  const base = lower(args[0]);
  const baseSpec = REDIS_COMMANDS.get(base);
  if (baseSpec === undefined) return true;
  if (CONTAINERS.has(base) && args.length < 2) return false;
  const { name, spec } = resolveCommand(args, argc);
  if (args.length < (STATE_ARGS[name] ?? 0)) return false;
  if (spec === undefined) return true;
  if (spec.firstKey > 0) return args.length > spec.firstKey;
  const keySpec = spec.keySpec;
  if (keySpec === undefined) return true;
  // Keys after a keyword (XREAD … STREAMS key) may be anywhere: read up to maxArgs.
  if (!('beginIndex' in keySpec)) return false;
  return args.length > keySpec.beginIndex + Math.max(keySpec.numKeysAt, keySpec.firstKeyAt);
}
