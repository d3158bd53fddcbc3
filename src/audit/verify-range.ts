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
import type { LeafHexRow } from '../store/index.js';
import { HASH_HEX_LENGTH, HexFrontier, prefixedLeafHashHex } from './hex-tree.js';
import { bodySequenceOk } from './verify.js';

/** Reads the records with sequence in [from, to), in storage order (Store.leafRowsHex). */
export type ReadLeaves = (from: number, to: number) => LeafHexRow[];

/** Records read per batch: one statement per batch rather than one iterator step per row. */
export const DEFAULT_BATCH = 4096;

export interface RangeTask {
  /** First position, a multiple of 2^chunkLevel. */
  readonly from: number;
  /** End position (exclusive), or null to read to the end of the log. */
  readonly to: number | null;
  readonly chunkLevel: number;
  /** Checkpoint sizes in (from, to], ascending. */
  readonly checkpointSizes: readonly number[];
  /** Records per read (default DEFAULT_BATCH; tests use small batches). */
  readonly batch?: number;
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

/**
 * `recordIsSound` (verify.ts) on a hex row: the stored sequence, the leaf's size, and unless
 * pruned, the body against the leaf and its `event.sequence`.
 */
export function hexRecordIsSound(row: LeafHexRow, pos: number): boolean {
  const [sequence, leafInput, leafHex] = row;
  if (sequence !== pos || leafHex.length !== HASH_HEX_LENGTH) return false;
  if (leafInput === null) return true;
  return prefixedLeafHashHex(leafInput) === leafHex && bodySequenceOk(leafInput.slice(1), pos);
}

/** Records between two progress reports of a range. */
const PROGRESS_EVERY = 16_384;

/**
 * Checks the log from `task.from` on, read in batches through `read`, for one range.
 * `onProgress` is told how many more records were checked since it was last told.
 */
export function checkRange(
  read: ReadLeaves,
  task: RangeTask,
  onProgress?: (done: number) => void,
): RangeResult {
  const chunk = 2 ** task.chunkLevel;
  const chunkRoots: Buffer[] = [];
  const partials: { size: number; hash: Buffer }[] = [];
  let frontier = new HexFrontier();
  let pos = task.from;
  let prunedFrom = -1;
  let prunedTo = -1;
  let nextCheckpoint = 0;
  let sound = true;
  let reported = task.from;
  const sizes = task.checkpointSizes;
  const batch = task.batch ?? DEFAULT_BATCH;
  // A gap shows as a row whose sequence is not the next position, or as an empty batch.
  reading: for (;;) {
    const limit = task.to === null ? pos + batch : Math.min(task.to, pos + batch);
    if (limit <= pos) break;
    const rows = read(pos, limit);
    if (rows.length === 0) break;
    for (const row of rows) {
      if (!hexRecordIsSound(row, pos)) {
        sound = false;
        break reading;
      }
      if (row[1] === null) {
        if (prunedFrom < 0) prunedFrom = pos;
        prunedTo = pos;
      }
      frontier.append(row[2]);
      pos++;
      if (frontier.size === chunk) {
        chunkRoots.push(Buffer.from(frontier.root() ?? '', 'hex'));
        frontier = new HexFrontier();
      }
      while (nextCheckpoint < sizes.length && (sizes[nextCheckpoint] ?? 0) <= pos) {
        const size = sizes[nextCheckpoint++] ?? 0;
        if (size !== pos) {
          sound = false; // sizes out of order, or a size the records skipped
          break reading;
        }
        const folded = frontier.foldBelow(task.chunkLevel);
        if (folded !== undefined) partials.push({ size, hash: Buffer.from(folded, 'hex') });
      }
      if ((pos - task.from) % PROGRESS_EVERY === 0) {
        onProgress?.(pos - reported);
        reported = pos;
      }
    }
  }
  if (pos > reported) onProgress?.(pos - reported);
  if (task.to !== null && pos !== task.to) sound = false;
  if (nextCheckpoint < sizes.length) sound = false;
  return { sound, end: pos, chunkRoots, partials, prunedFrom, prunedTo };
}
