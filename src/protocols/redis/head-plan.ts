/**
 * What the session copies of a command before it decides, and when it decides: the name and
 * subcommand, the arguments that change connection state, the leading values when the
 * listener records them, and every key (keys.ts). The command parser asks per argument, so
 * values between keys stream by uncopied and the head goes out once the last key is read.
 */
import { isContainer, resolveCommand, stateArgs } from './commands.js';
import { KeyFinder } from './keys.js';

/** Most arguments read before deciding; keys past them make the key list incomplete. */
export const MAX_HEAD_ARGS = 1024;
/**
 * Most bytes of one command held before deciding; a command whose keys are not all read by
 * then is decided on what was read, its key list marked incomplete.
 */
export const MAX_HEAD_BYTES = 1024 * 1024;

export class HeadPlan {
  private finder: KeyFinder | undefined;
  private state = 0;
  private argc = 0;

  /**
   * @param valueArgs leading arguments to copy for the record (0 unless values are recorded)
   * @param keyBytes bytes copied of each argument
   */
  constructor(
    private readonly valueArgs: number,
    private readonly keyBytes: number,
  ) {}

  /** The parser's `captureArg`: copy argument `index`? */
  wants(index: number, args: readonly Buffer[], argc: number): boolean {
    if (index === 0) {
      this.finder = undefined;
      this.argc = argc;
      return true;
    }
    if (index < this.valueArgs) return true;
    const finder = this.resolve(args);
    if (finder === undefined) return true;
    return index < this.state || finder.wants(index, args);
  }

  /** The parser's `headReady`: is everything the decision and the record need read? */
  ready(args: readonly Buffer[], argc: number): boolean {
    const finder = this.resolve(args);
    if (finder === undefined) return false;
    if (args.length < Math.min(argc, this.state, MAX_HEAD_ARGS)) return false;
    if (args.length < Math.min(argc, this.valueArgs)) return false;
    return finder.settled(args);
  }

  /** The key finder once name (and a container's subcommand) are read. */
  private resolve(args: readonly Buffer[]): KeyFinder | undefined {
    if (this.finder !== undefined) return this.finder;
    if (args.length === 0) return undefined;
    if (args.length < 2 && this.argc >= 2 && isContainer(args[0])) return undefined;
    const resolved = resolveCommand(args, this.argc);
    this.state = stateArgs(resolved.name);
    this.finder = new KeyFinder(resolved.spec, resolved.name, this.argc, this.keyBytes);
    return this.finder;
  }
}
