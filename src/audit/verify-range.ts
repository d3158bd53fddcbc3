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
import type { LeafBatch } from '../store/index.js';
import { bodyBytesSequenceOk } from './body-sequence.js';
import { Latin1Frontier, hashLatin1 } from './latin1-tree.js';
import { HASH_SIZE } from './merkle.js';

/** Reads the records with sequence in [from, to) as one batch (Store.leafBatch). */
export type ReadBatch = (from: number, to: number) => LeafBatch;

/** Records read per batch: one statement per batch rather than one iterator step per row. */
export const DEFAULT_BATCH = 4096;

/**
 * Bytes of bodies a batch should hold: a log of large records reads fewer records at a time
 * (SQLite refuses a value over 1 GB, and memory is better spent elsewhere).
 */
const BATCH_BYTES = 16 * 1024 * 1024;

export interface RangeTask {
  /** First position, a multiple of 2^chunkLevel. */
  readonly from: number;
  /** End position (exclusive), or null to read to the end of the log. */
  readonly to: number | null;
  readonly chunkLevel: number;
  /** Checkpoint sizes in (from, to], ascending. */
  readonly checkpointSizes: readonly number[];
  /**
   * The largest checkpoint's size. Below it, the caller checks every record's leaf against
   * a signed root; a leaf that matches fixes its body, and with it the `event.sequence`
   * the Recorder wrote into it, so the body is not scanned for its sequence there (~0.4 µs
   * a record). From it on, nothing signed vouches for the order: every body is scanned.
   */
  readonly signedSize: number;
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
 * Whether a batch read from `pos` holds exactly the records `pos`… in order, each with a
 * 32-byte leaf: the shape the per-record checks rely on. A body is read as its bytes
 * whatever type it is stored with, as the sequential verify reads it (Store.iterateLeaves).
 */
function batchIsWhole(b: LeafBatch, pos: number): boolean {
  return (
    b.first === pos &&
    b.last === pos + b.count - 1 &&
    b.malformed === 0 &&
    b.leaves.length === HASH_SIZE * b.count
  );
}

/** Records between two progress reports of a range. */
const PROGRESS_EVERY = 16_384;

/**
 * Checks the log from `task.from` on, read in batches through `read`, for one range, with
 * the checks `recordIsSound` (verify.ts) makes: the stored sequence, the leaf's size, and
 * unless pruned, the body's bytes against the leaf and (from `task.signedSize` on) its
 * `event.sequence`.
 * `onProgress` is told how many more records were checked since it was last told.
 */
export function checkRange(
  read: ReadBatch,
  task: RangeTask,
  onProgress?: (done: number) => void,
): RangeResult {
  const chunk = 2 ** task.chunkLevel;
  const chunkRoots: Buffer[] = [];
  const partials: { size: number; hash: Buffer }[] = [];
  let frontier = new Latin1Frontier();
  let pos = task.from;
  let prunedFrom = -1;
  let prunedTo = -1;
  let nextCheckpoint = 0;
  let sound = true;
  let reported = task.from;
  const sizes = task.checkpointSizes;
  const maxBatch = task.batch ?? DEFAULT_BATCH;
  let batch = maxBatch;
  // A gap shows as a batch whose sequences are not the next positions, or an empty batch.
  reading: for (;;) {
    const limit = task.to === null ? pos + batch : Math.min(task.to, pos + batch);
    if (limit <= pos) break;
    const b = readBatch(read, pos, limit);
    if (b.count === 0) break;
    if (!batchIsWhole(b, pos)) {
      sound = false;
      break;
    }
    const leaves = b.leaves.toString('latin1');
    const inputs = b.leafInputs;
    // The bodies as one latin1 string, for the sequence scan past the signed records.
    const text = pos + b.count > task.signedSize ? inputs.toString('latin1') : '';
    const lengths = b.lengths;
    let at = 0; // into inputs
    let li = 0; // into lengths
    for (let j = 0; j < b.count; j++) {
      // The next length: digits, or -1 for a pruned body.
      let length = 0;
      if (lengths.charCodeAt(li) === MINUS) {
        length = -1;
        li += 2;
      } else {
        for (
          let c = lengths.charCodeAt(li);
          c >= DIGIT_0 && c <= DIGIT_9;
          c = lengths.charCodeAt(++li)
        )
          length = length * 10 + c - DIGIT_0;
      }
      li++; // the comma
      const leaf = leaves.slice(HASH_SIZE * j, HASH_SIZE * (j + 1));
      if (length < 0) {
        if (prunedFrom < 0) prunedFrom = pos;
        prunedTo = pos;
      } else {
        const next = at + 1 + length;
        if (
          next > inputs.length ||
          inputs[at] !== 0 ||
          hashLatin1(new Uint8Array(inputs.buffer, inputs.byteOffset + at, 1 + length)) !== leaf ||
          (pos >= task.signedSize && !bodyBytesSequenceOk(inputs, text, at + 1, next, pos))
        ) {
          sound = false;
          break reading;
        }
        at = next;
      }
      frontier.append(leaf);
      pos++;
      if (frontier.size === chunk) {
        chunkRoots.push(Buffer.from(frontier.root() ?? '', 'latin1'));
        frontier = new Latin1Frontier();
      }
      while (nextCheckpoint < sizes.length && (sizes[nextCheckpoint] ?? 0) <= pos) {
        const size = sizes[nextCheckpoint++] ?? 0;
        if (size !== pos) {
          sound = false; // sizes out of order, or a size the records skipped
          break reading;
        }
        const folded = frontier.foldBelow(task.chunkLevel);
        if (folded !== undefined) partials.push({ size, hash: Buffer.from(folded, 'latin1') });
      }
      if ((pos - task.from) % PROGRESS_EVERY === 0) {
        onProgress?.(pos - reported);
        reported = pos;
      }
    }
    // Every byte and every length accounted for.
    if (at !== inputs.length || li < lengths.length) {
      sound = false;
      break;
    }
    batch = nextBatchSize(b.count, inputs.length, maxBatch);
  }
  if (pos > reported) onProgress?.(pos - reported);
  if (task.to !== null && pos !== task.to) sound = false;
  if (nextCheckpoint < sizes.length) sound = false;
  return { sound, end: pos, chunkRoots, partials, prunedFrom, prunedTo };
}

const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/**
 * A batch, read again in halves when SQLite refuses it as too big (records of hundreds
 * of kilobytes each); a single record it refuses is an error.
 */
function readBatch(read: ReadBatch, from: number, to: number): LeafBatch {
  try {
    return read(from, to);
  } catch (err) {
    if (to - from <= 1 || !/too big/i.test(err instanceof Error ? err.message : '')) throw err;
    return readBatch(read, from, from + Math.ceil((to - from) / 2));
  }
}

/** Records for the next read: as many as fit `BATCH_BYTES` at the last batch's record size. */
export function nextBatchSize(count: number, bytes: number, max: number): number {
  if (bytes <= BATCH_BYTES) return max;
  return Math.max(1, Math.min(max, Math.floor((count * BATCH_BYTES) / bytes)));
}
