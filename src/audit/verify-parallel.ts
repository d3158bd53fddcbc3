/**
 * `verifyLog`'s fast path, on several cores for the embedded store's log file. The log is
 * cut into ranges of whole chunks (2^14 leaves); one worker thread per range reads its
 * records in batches on its own read-only connection (with one thread, or a log too small
 * to share, this thread reads the one range itself), checks each exactly as `verifyLog`
 * does — on batches of bytes and latin1 hashes, which cost far less than rows and Buffers (latin1-tree.ts) — and returns the
 * root of every complete chunk and, at each checkpoint size inside its range, the fold of
 * the partial chunk's frontier. This thread checks every checkpoint signature and
 * composes each checkpoint's root from those pieces: the chunk roots are the leaves of the
 * upper part of the same RFC 6962 tree, so the composed root is the tree's root.
 *
 * Only a clean log takes this path to the end. Any doubt — a record that fails a check, a
 * gap, a checkpoint that does not open or whose root differs, fewer records than the store
 * counts — runs the sequential `verifyLog`, which names the first affected sequence with
 * its usual diagnosis. `fromCheckpoint`, and stores that cannot read batches of leaves
 * (PostgreSQL), go straight to it.
 */
import { availableParallelism } from 'node:os';
import type { Store } from '../store/index.js';
import { openCheckpoint } from './checkpoint.js';
import { EMPTY_ROOT, nodeHash } from './merkle.js';
import { parseVerifierKey } from './note.js';
import { storeLogSource } from './store-log.js';
import { Frontier } from './tree.js';
import { checkRangesInWorkers } from './verify-pool.js';
import { checkRange, type RangeTask } from './verify-range.js';
import { verifyLog, type VerifyOptions, type VerifyResult } from './verify.js';

export interface ParallelVerifyOptions extends VerifyOptions {
  /** Worker threads (default: the cores available, at most 8). 1 = sequential. */
  readonly threads?: number;
  /** log2 of the chunk size (default 14); tests use small chunks. */
  readonly chunkLevel?: number;
  /** Records per read (default 4096); tests use small batches. */
  readonly batch?: number;
  /** Told why the sequential `verifyLog` decides instead (small log, doubt found, …). */
  readonly onSequential?: (reason: string) => void;
}

/** The store to verify: its log file path (`:memory:` and other stores verify sequentially). */
export interface VerifiableStore extends Store {
  readonly path?: string;
}

/**
 * Ranges queued per worker thread, at most (a range is at least one chunk). Small ranges
 * keep the threads finishing together: with 4 ranges a thread and 2^16-leaf chunks, one of
 * two threads sat idle for ~0.2 s of a 2 s run at 1M records (the last range was shorter).
 */
const RANGES_PER_THREAD = 64;
/** Default log2 of the chunk size: 16,384 leaves, ~60 ms of one thread's work. */
const CHUNK_LEVEL = 14;
/** Fewer records than this are checked on this thread (a worker's start costs more). */
const PARALLEL_MIN_RECORDS = 2 ** 17;

/** Default worker count: the cores, at most 8. */
export function defaultVerifyThreads(): number {
  return Math.max(1, Math.min(8, availableParallelism()));
}

export async function verifyLogParallel(
  store: VerifiableStore,
  options: ParallelVerifyOptions,
): Promise<VerifyResult> {
  const threads = options.threads ?? defaultVerifyThreads();
  const chunkLevel = options.chunkLevel ?? CHUNK_LEVEL;
  const chunk = 2 ** chunkLevel;
  const total = store.nextSequence();
  const path = store.path;
  const sequential = (reason: string): VerifyResult => {
    options.onSequential?.(reason);
    const source = storeLogSource(store);
    try {
      return verifyLog(source, options);
    } finally {
      source.release();
    }
  };
  const read = store.leafBatch?.bind(store);
  if (read === undefined || options.fromCheckpoint !== undefined) {
    return sequential('not the fast path: a start checkpoint, or a store without batch reads');
  }
  // Worker threads for a log file big enough to share; otherwise the same check on this thread.
  const parallel =
    threads >= 2 &&
    path !== undefined &&
    path !== ':memory:' &&
    total >= 2 * chunk &&
    (options.chunkLevel !== undefined || total >= PARALLEL_MIN_RECORDS);

  // Every checkpoint must open with a trusted key and the sizes must not go back.
  const verifiers = options.verifierKeys.map(parseVerifierKey);
  const checkpoints: { size: number; root: Buffer }[] = [];
  for (const c of store.checkpoints()) {
    const opened = openCheckpoint(c.note, verifiers, options.origin);
    const prev = checkpoints[checkpoints.length - 1];
    if (!opened.ok) return sequential(`checkpoint does not open: ${opened.detail}`);
    if (prev !== undefined && opened.size < prev.size)
      return sequential('checkpoint sizes go back');
    checkpoints.push({ size: opened.size, root: opened.root });
  }

  // Several ranges a worker, so that every core stays busy to the end (verify-pool.ts).
  const chunks = Math.ceil(total / chunk);
  const ranges = parallel ? Math.min(chunks, threads * RANGES_PER_THREAD) : 1;
  const signedSize = checkpoints.reduce((max, c) => Math.max(max, c.size), 0);
  const tasks: RangeTask[] = [];
  for (let i = 0; i < ranges; i++) {
    const from = Math.floor((chunks * i) / ranges) * chunk;
    const to = i + 1 < ranges ? Math.floor((chunks * (i + 1)) / ranges) * chunk : null;
    const checkpointSizes = checkpoints
      .map((c) => c.size)
      .filter((s) => s > from && (to === null || s <= to));
    tasks.push({ from, to, chunkLevel, checkpointSizes, signedSize, batch: options.batch });
  }
  let done = 0;
  const progress = (n: number): void => {
    done += n;
    options.onProgress?.(Math.min(done, total), total);
  };
  const results =
    parallel && path !== undefined
      ? await checkRangesInWorkers(path, tasks, threads, progress)
      : tasks.map((task) => checkRange(read, task, progress));
  if (results.length < tasks.length || results.some((r) => !r.sound))
    return sequential('a range has a record that fails a check');
  const last = results[results.length - 1];
  const end = last?.end ?? 0;
  if (end < total) return sequential('fewer records than the store counts');
  if (checkpoints.some((c) => c.size > end))
    return sequential('a checkpoint covers missing records');

  // Compose each checkpoint's root from the chunk roots and its partial chunk.
  const upper = new Frontier();
  const roots = results.flatMap((r) => r.chunkRoots);
  const partials = new Map(results.flatMap((r) => r.partials.map((p) => [p.size, p.hash])));
  let next = 0;
  for (const c of checkpoints) {
    const whole = Math.floor(c.size / chunk);
    while (upper.size < whole) {
      const root = roots[next++];
      if (root === undefined) return sequential('a chunk root is missing');
      upper.append(root);
    }
    let r = c.size % chunk === 0 ? undefined : partials.get(c.size);
    if (c.size % chunk !== 0 && r === undefined) return sequential('a partial chunk is missing');
    for (let level = 0; level < 64; level++) {
      const n = upper.node(level);
      if (n !== undefined) r = r === undefined ? n : nodeHash(n, r);
    }
    if (!(r ?? EMPTY_ROOT).equals(c.root)) return sequential(`root at size ${c.size} differs`);
  }
  const prunedFrom = results.find((r) => r.prunedFrom >= 0)?.prunedFrom ?? -1;
  const prunedTo = results.findLast((r) => r.prunedTo >= 0)?.prunedTo ?? -1;
  options.onProgress?.(end, total);
  return {
    ok: true,
    size: end,
    checkpoints: checkpoints.length,
    pruned: prunedFrom < 0 ? null : { from: prunedFrom, to: prunedTo },
  };
}
