/**
 * Command lookup: argv → the command (with subcommand for containers like CONFIG), its ACL
 * categories and its keys (keys.ts). Built from the generated command-table.ts.
 */
import { decodeCommandRows, type RedisCommandSpec } from './command-spec.js';
import { REDIS_COMMAND_ROWS } from './command-table.js';
import { KeyFinder, type CommandKeys } from './keys.js';

/** Every command Redis knows, decoded once from the generated table. */
export const REDIS_COMMANDS: ReadonlyMap<string, RedisCommandSpec> =
  decodeCommandRows(REDIS_COMMAND_ROWS);

/** Longest command name kept in a record; longer names are not real commands anyway. */
const MAX_NAME = 64;
/** Categories of a command the table does not know: policy treats it as most privileged. */
export const UNKNOWN_CATEGORIES: readonly string[] = ['unknown'];

/**
 * Arguments the session reads for connection state, beyond name and keys: CLIENT REPLY's
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
}

function lower(arg: Buffer | undefined): string {
  return (arg ?? Buffer.alloc(0)).toString('latin1', 0, MAX_NAME).toLowerCase();
}

/** Resolves a command from its first arguments and its full argument count. */
export function resolveCommand(args: readonly Buffer[], argc: number): ResolvedCommand {
  const base = lower(args[0]);
  let name = base;
  let spec = REDIS_COMMANDS.get(base);
  if (spec !== undefined && CONTAINERS.has(base) && argc >= 2) {
    name = `${base}|${lower(args[1])}`;
    spec = REDIS_COMMANDS.get(name);
  }
  if (spec === undefined) return { name, categories: UNKNOWN_CATEGORIES, spec };
  return { name, categories: spec.categories, spec };
}

/** Whether a command needs its subcommand (argument 1) read before it resolves. */
export function isContainer(name: Buffer | undefined): boolean {
  const base = lower(name);
  return CONTAINERS.has(base) && REDIS_COMMANDS.has(base);
}

/** Arguments to read before the head goes out for the connection state (see STATE_ARGS). */
export function stateArgs(name: string): number {
  return STATE_ARGS[name] ?? 0;
}

/** Every key of a command whose arguments are all at hand (`policy test`, inline commands). */
export function commandKeys(
  resolved: ResolvedCommand,
  args: readonly Buffer[],
  argc: number,
  keyBytes = Number.POSITIVE_INFINITY,
): CommandKeys {
  return new KeyFinder(resolved.spec, resolved.name, argc, keyBytes).result(args);
}
