/**
 * Every key of a command, found like Redis' own getKeysUsingKeySpecs (db.c) from the command
 * table's key specs, with SORT and MIGRATE read like their getkeys procedures (sortGetKeys,
 * migrateGetKeys) because their specs are incomplete. Works incrementally: the session asks,
 * argument by argument, whether to copy it and whether every key is known, so it decides
 * before the values stream by. Bounded: at most MAX_KEYS keys are kept; what could not be
 * read makes the result incomplete (`complete: false`), never silently shorter.
 */
import type { RedisCommandSpec, RedisKeySpec } from './command-spec.js';

/** Most keys one command is checked and recorded with; more makes the result incomplete. */
export const MAX_KEYS = 256;

/** The keys of one command as far as the gateway could read them. */
export interface CommandKeys {
  /** The keys (at most MAX_KEYS), in argument order. */
  readonly keys: readonly Buffer[];
  /** How many key positions the command has (may exceed `keys.length`). */
  readonly count: number;
  /**
   * False when some key could not be read: more than MAX_KEYS, a key copied only in part,
   * positions the table cannot describe (unknown command, SORT BY/GET patterns), or a
   * command so long its head went out before its last key.
   */
  readonly complete: boolean;
}

/** A run of key positions: from, from+step, …, up to `to` (inclusive). */
interface Run {
  readonly from: number;
  readonly to: number;
  readonly step: number;
}

/** One key spec being followed as arguments arrive. */
interface SpecState {
  readonly spec: RedisKeySpec;
  /** Argv index the keys begin at; -1 while a keyword is still searched for. */
  begin: number;
  /** Forward keyword search: the next index to look at. */
  scanAt: number;
  /** Positions, once known; null: no keys from this spec. */
  run: Run | null | undefined;
}

/** Commands whose keys their own getkeys procedure finds (their specs are incomplete). */
type Procedure = 'sort' | 'migrate';
const PROCEDURES: ReadonlyMap<string, Procedure> = new Map([
  ['sort', 'sort'],
  ['sort_ro', 'sort'],
  ['migrate', 'migrate'],
]);

/** string2ll (util.c): an optional minus, then 0 or digits without a leading zero. */
const INTEGER = /^(?:0|-?[1-9][0-9]{0,17})$/;

function equalsWord(arg: Buffer | undefined, word: string): boolean {
  return (
    arg !== undefined && arg.length === word.length && arg.toString('latin1').toLowerCase() === word
  );
}

/**
 * Finds the keys of one command. Feed it the arguments read so far (uncopied ones as empty
 * buffers) in `wants` / `settled`; both only look at arguments they have not seen yet.
 */
export class KeyFinder {
  private readonly states: SpecState[] = [];
  private readonly procedure: Procedure | undefined;
  private seen = 0;
  private incomplete = false;

  /**
   * @param spec the command's table entry; undefined for a command the table does not know
   * @param name resolved lower-case name (`sort`, `object|encoding`)
   * @param argc argument count including the name
   * @param keyBytes bytes copied of each argument: a key that long may have been cut
   */
  constructor(
    spec: RedisCommandSpec | undefined,
    name: string,
    private readonly argc: number,
    private readonly keyBytes: number,
  ) {
    if (spec === undefined) {
      this.incomplete = true;
      this.procedure = undefined;
      return;
    }
    this.procedure = PROCEDURES.get(name);
    if (this.procedure !== undefined) return;
    for (const keySpec of spec.keySpecs) {
      if (keySpec.notKey) continue;
      if (keySpec.incomplete) this.incomplete = true;
      this.states.push({ spec: keySpec, begin: -1, scanAt: 0, run: undefined });
    }
  }

  /** Whether argument `index` must be copied; `args` are the arguments before it. */
  wants(index: number, args: readonly Buffer[]): boolean {
    if (this.procedure === 'sort') return index >= 1;
    if (this.procedure === 'migrate') return index === 3 || index >= 6;
    this.advance(args);
    for (const s of this.states) {
      if (s.run === null) continue;
      if (s.run !== undefined) {
        if (inRun(s.run, index)) return true;
        continue;
      }
      const begin = s.spec.begin;
      if (s.begin < 0 && begin.kind === 'keyword') {
        // Every argument the keyword may be.
        if (begin.startFrom >= 0 ? index >= begin.startFrom : index <= this.argc + begin.startFrom)
          return true;
      } else if (s.begin >= 0 && s.spec.find.kind === 'keynum') {
        if (index === s.begin + s.spec.find.numKeysAt) return true;
      }
    }
    return false;
  }

  /** True when every key position is known and every kept key was read. */
  settled(args: readonly Buffer[]): boolean {
    if (this.procedure !== undefined) return args.length >= this.argc;
    this.advance(args);
    let last = -1;
    for (const s of this.states) {
      if (s.run === undefined) return false;
      if (s.run !== null) last = Math.max(last, cappedEnd(s.run));
    }
    return args.length > last;
  }

  /** The keys, from every argument read (`args`, uncopied ones empty). */
  result(args: readonly Buffer[]): CommandKeys {
    if (this.procedure !== undefined) return this.fromProcedure(args);
    this.advance(args);
    const runs: Run[] = [];
    let incomplete = this.incomplete;
    for (const s of this.states) {
      if (s.run === undefined)
        incomplete = true; // its keyword or count was never read
      else if (s.run !== null) runs.push(s.run);
    }
    return this.collect(runs, args, incomplete);
  }

  // ---- key specs ----

  /** Follows every spec over the arguments not seen yet. */
  private advance(args: readonly Buffer[]): void {
    if (args.length === this.seen && this.seen > 0) return;
    this.seen = args.length;
    for (const s of this.states) {
      if (s.run !== undefined) continue;
      if (s.begin < 0) this.findBegin(s, args);
      if (s.begin >= 0 && s.run === undefined) this.findKeys(s, args);
    }
  }

  private findBegin(s: SpecState, args: readonly Buffer[]): void {
    const begin = s.spec.begin;
    const argc = this.argc;
    if (begin.kind === 'index') {
      s.begin = begin.index;
      return;
    }
    if (begin.kind === 'unknown') {
      s.run = null;
      this.incomplete = true;
      return;
    }
    if (begin.startFrom >= 0) {
      // Forward from startFrom; the last argument is never the keyword (keys follow it).
      const end = argc - 1;
      let i = Math.max(s.scanAt, begin.startFrom);
      for (; i < end && i < args.length; i++) {
        if (equalsWord(args[i], begin.keyword)) {
          s.begin = i + 1;
          return;
        }
      }
      s.scanAt = i;
      if (i >= end) s.run = null;
      return;
    }
    // Backwards from argc+startFrom down to (not including) argument 1: needs them all read.
    const start = argc + begin.startFrom;
    if (args.length <= start) return;
    for (let i = start; i > 1; i--) {
      if (equalsWord(args[i], begin.keyword)) {
        s.begin = i + 1;
        return;
      }
    }
    s.run = null;
  }

  private findKeys(s: SpecState, args: readonly Buffer[]): void {
    const find = s.spec.find;
    const argc = this.argc;
    const first = s.begin;
    if (find.kind === 'unknown') {
      s.run = null;
      this.incomplete = true;
      return;
    }
    let from: number;
    let to: number;
    let step: number;
    if (find.kind === 'range') {
      step = Math.max(1, find.step);
      from = first;
      if (find.lastKey >= 0) to = first + find.lastKey;
      else if (find.limit === 0) to = argc + find.lastKey;
      else to = first + (Math.trunc((argc - first) / find.limit) + find.lastKey);
    } else {
      const at = first + find.numKeysAt;
      if (at >= argc) {
        s.run = null;
        return;
      }
      if (args.length <= at) return; // the count is not read yet
      const text = args[at]?.toString('latin1') ?? '';
      // Redis refuses the command before touching a key when the count is no count.
      if (!INTEGER.test(text) || Number(text) < 0) {
        s.run = null;
        return;
      }
      step = Math.max(1, find.step);
      from = first + find.firstKeyAt;
      to = from + Number(text) - 1;
    }
    // Positions past the arguments are skipped, as Redis does for variable-arity commands.
    to = Math.min(to, argc - 1);
    s.run = from < 1 || from > to ? null : { from, to, step };
  }

  // ---- SORT, MIGRATE ----

  private fromProcedure(args: readonly Buffer[]): CommandKeys {
    const runs: Run[] = [];
    let incomplete = args.length < this.argc;
    if (this.procedure === 'sort') {
      if (this.argc > 1) runs.push({ from: 1, to: 1, step: 1 });
      let store = -1;
      // sortGetKeys: LIMIT skips two, GET and BY one; the last STORE names a key.
      for (let i = 2; i < args.length; i++) {
        const word = (args[i] ?? Buffer.alloc(0)).toString('latin1').toLowerCase();
        if (word === 'limit') i += 2;
        else if (word === 'get' || word === 'by') {
          // A GET or BY pattern reads keys the arguments do not name (BY without * does not).
          const pattern = args[i + 1]?.toString('latin1') ?? '';
          if (word === 'get' || pattern.includes('*')) incomplete = true;
          i += 1;
        } else if (word === 'store' && i + 1 < this.argc) store = i + 1;
      }
      if (store > 0) runs.push({ from: store, to: store, step: 1 });
      return this.collect(runs, args, incomplete);
    }
    // migrateGetKeys: the key at 3, or with KEYS (and an empty key at 3) the keys after it.
    let keysAt = -1;
    const skip: Readonly<Record<string, number>> = { copy: 0, replace: 0, auth: 1, auth2: 2 };
    for (let i = 6; i < args.length; i++) {
      const word = (args[i] ?? Buffer.alloc(0)).toString('latin1').toLowerCase();
      if (word === 'keys') {
        keysAt = i + 1;
        break;
      }
      i += skip[word] ?? 0;
    }
    if (keysAt < 0) {
      if (this.argc > 3) runs.push({ from: 3, to: 3, step: 1 });
    } else if (keysAt < this.argc) runs.push({ from: keysAt, to: this.argc - 1, step: 1 });
    return this.collect(runs, args, incomplete);
  }

  // ---- shared ----

  /** The first MAX_KEYS positions of every run, merged in argument order. */
  private collect(runs: readonly Run[], args: readonly Buffer[], incomplete: boolean): CommandKeys {
    let count = 0;
    const positions = new Set<number>();
    for (const run of runs) {
      count += Math.floor((run.to - run.from) / run.step) + 1;
      for (let i = run.from, n = 0; i <= run.to && n < MAX_KEYS; i += run.step, n++) {
        positions.add(i);
      }
    }
    const sorted = [...positions].sort((a, b) => a - b);
    if (sorted.length > MAX_KEYS) sorted.length = MAX_KEYS;
    let complete = !incomplete && count <= MAX_KEYS;
    const keys: Buffer[] = [];
    for (const at of sorted) {
      const key = args[at];
      // Not read (the head went out early), or possibly cut at the copy limit.
      if (key === undefined || key.length >= this.keyBytes) complete = false;
      if (key !== undefined) keys.push(key);
    }
    return { keys, count, complete };
  }
}

function inRun(run: Run, index: number): boolean {
  return index >= run.from && index <= cappedEnd(run) && (index - run.from) % run.step === 0;
}

/** The last position of a run that is kept (MAX_KEYS per run at most). */
function cappedEnd(run: Run): number {
  const steps = Math.min(Math.floor((run.to - run.from) / run.step), MAX_KEYS - 1);
  return run.from + steps * run.step;
}
