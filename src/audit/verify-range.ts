/**
 * One worker's share of a parallel verify (verify-parallel.ts): the records of one range of
 * whole chunks (2^chunkLevel leaves each) checked one by one exactly as `verifyLog` checks
 * them, and the Merkle hashes the range contributes — the root of every complete chunk, and
 * for every checkpoint size inside the range the fold of the partial chunk's frontier below
 * the chunk level. The caller combines those into each checkpoint's root.
 *
 * It answers "sound" or "not sound", never why: on any doubt the caller runs the sequential
 * `verifyLog`, which names the tampering. So the fast path can only say ok where the
 * sequential one would.
 */
import { Frontier } from './tree.js';
import { recordIsSound, type LogRecord } from './verify.js';

export interface RangeTask {
  /** First position, a multiple of 2^chunkLevel. */
  readonly from: number;
  /** End position (exclusive), or null to read to the end of the log. */
  readonly to: number | null;
  readonly chunkLevel: number;
  /** Checkpoint sizes in (from, to], ascending. */
  readonly checkpointSizes: readonly number[];
}

export interface RangeResult {
  /** Every record read passed every check, with no gap. */
  readonly sound: boolean;
  /** The position after the last record read. */
  readonly end: number;
  /** Roots of the complete chunks in [from, end), in order. */
  readonly chunkRoots: Buffer[];
  /** For each checkpoint size not on a chunk boundary: its partial chunk's folded frontier. */
  readonly partials: { readonly size: number; readonly hash: Buffer }[];
  /** First and last position whose body was pruned (-1 when none). */
  readonly prunedFrom: number;
  readonly prunedTo: number;
}

/** Checks `records` (the log from `task.from` on) for one range. */
export function checkRange(
  records: Iterable<LogRecord>,
  task: RangeTask,
  onProgress?: (done: number) => void,
): RangeResult {
  const chunk = 2 ** task.chunkLevel;
  const chunkRoots: Buffer[] = [];
  const partials: { size: number; hash: Buffer }[] = [];
  let frontier = new Frontier();
  let pos = task.from;
  let prunedFrom = -1;
  let prunedTo = -1;
  let nextCheckpoint = 0;
  let sound = true;
  const sizes = task.checkpointSizes;
  for (const r of records) {
    if (task.to !== null && pos >= task.to) break;
    if (!recordIsSound(r, pos)) {
      sound = false;
      break;
    }
    if (r.body === null) {
      if (prunedFrom < 0) prunedFrom = pos;
      prunedTo = pos;
    }
    frontier.append(r.leafHash);
    pos++;
    if (frontier.size === chunk) {
      chunkRoots.push(frontier.root());
      frontier = new Frontier();
    }
    while (nextCheckpoint < sizes.length && (sizes[nextCheckpoint] ?? 0) <= pos) {
      const size = sizes[nextCheckpoint++] ?? 0;
      if (size !== pos) {
        sound = false; // sizes out of order, or a size the records skipped
        break;
      }
      const folded = frontier.foldBelow(task.chunkLevel);
      if (folded !== undefined) partials.push({ size, hash: folded });
    }
    if (!sound) break;
    if ((pos - task.from) % 65_536 === 0) onProgress?.(pos - task.from);
  }
  if (task.to !== null && pos !== task.to) sound = false;
  if (nextCheckpoint < sizes.length) sound = false;
  return { sound, end: pos, chunkRoots, partials, prunedFrom, prunedTo };
}
