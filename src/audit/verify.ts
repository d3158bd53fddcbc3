/**
 * Streaming verification of a whole log (DESIGN §5): every leaf recomputed from its body,
 * the storage order checked against sequences, the tree root recomputed at each checkpoint
 * and compared with the signed one, every checkpoint signature checked. Memory is O(log n):
 * one Merkle frontier, one record, one checkpoint at a time.
 *
 * Sequences are 0-based: the record at position p (0, 1, 2, …) must have `sequence` p and its
 * body's `event.sequence` must be p; it is leaf p of the tree.
 */
import { PortwardenError } from '../errors.js';
import { openCheckpoint } from './checkpoint.js';
import { bodySequence, bodySequenceOk } from './body-sequence.js';
import { HASH_SIZE, leafHash } from './merkle.js';
import { parseVerifierKey } from './note.js';
import type { NoteVerifier } from './note.js';
import { Frontier, readNode } from './tree.js';

/** One stored record as verify reads it; `body` is null when the body was pruned. */
export interface LogRecord {
  readonly sequence: number;
  readonly body: string | null;
  readonly leafHash: Buffer;
}

/** What verify reads: records and checkpoints in storage order. */
export interface LogSource {
  /** The number of records the store says it holds (progress total; fewer found = truncated). */
  size(): number;
  /** Records from position `from` on, in storage order. */
  records(from: number): Iterable<LogRecord>;
  /** Signed checkpoint notes, oldest first. */
  checkpoints(): Iterable<{ readonly note: string }>;
  /** Stored complete-subtree hashes (TreeNodeStore.getNode); needed only with `fromCheckpoint`. */
  getNode?(level: number, index: number): Buffer | undefined;
}

export interface VerifyOptions {
  readonly verifierKeys: readonly string[];
  /** The origin (node name) every checkpoint must carry. */
  readonly origin: string;
  /**
   * Start at the checkpoint at this 0-based position instead of at record 0: its signature is
   * checked and its root compared with the stored tree, then only later records are read.
   */
  readonly fromCheckpoint?: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export type TamperKind =
  | 'edited'
  | 'inserted'
  | 'deleted'
  | 'reordered'
  | 'truncated'
  | 'bad-signature'
  | 'unknown-key'
  | 'root-mismatch';

export type VerifyResult =
  | {
      readonly ok: true;
      /** Records verified (the tree size at the end). */
      readonly size: number;
      /** Checkpoints verified. */
      readonly checkpoints: number;
      /** First and last sequence (inclusive) whose body was pruned, or null. */
      readonly pruned: { readonly from: number; readonly to: number } | null;
    }
  | {
      readonly ok: false;
      readonly kind: TamperKind;
      /** The first sequence affected. */
      readonly sequence: number;
      readonly detail: string;
    };

type Failure = Extract<VerifyResult, { ok: false }>;

const PROGRESS_EVERY = 65_536;

/** Verifies a log end to end (or from a trusted checkpoint); never throws on tampering. */
export function verifyLog(source: LogSource, options: VerifyOptions): VerifyResult {
  const verifiers = options.verifierKeys.map(parseVerifierKey);
  const total = source.size();
  const frontier = new Frontier();
  const checkpointIter = source.checkpoints()[Symbol.iterator]();
  let checkpointIndex = 0;
  let checkpointsVerified = 0;
  let matchedSize = 0; // size of the last checkpoint whose root matched
  let lastSize = 0;

  if (options.fromCheckpoint !== undefined) {
    const start = startAtCheckpoint(source, options, verifiers, checkpointIter, frontier);
    if ('kind' in start) return start;
    checkpointIndex = options.fromCheckpoint + 1;
    checkpointsVerified = 1;
    matchedSize = start.size;
    lastSize = start.size;
  }

  const records = source.records(frontier.size)[Symbol.iterator]();
  const state: RecordState = { pos: frontier.size, prunedFrom: -1, prunedTo: -1 };
  let progressCountdown = PROGRESS_EVERY;
  const step = (): Failure | 'end' | null => {
    const next = records.next();
    if (next.done === true) return 'end';
    const failure = checkRecord(next.value, state, frontier, records);
    if (failure !== null) return failure;
    if (--progressCountdown === 0) {
      progressCountdown = PROGRESS_EVERY;
      options.onProgress?.(state.pos, total);
    }
    return null;
  };

  for (;;) {
    const item = checkpointIter.next();
    if (item.done === true) break;
    const at = checkpointIndex++;
    const opened = openCheckpoint(item.value.note, verifiers, options.origin);
    if (!opened.ok) {
      const kind = opened.reason === 'unknown-key' ? 'unknown-key' : 'bad-signature';
      return fail(kind, matchedSize, `checkpoint #${at}: ${opened.detail}`);
    }
    if (opened.size < lastSize) {
      return fail(
        'reordered',
        opened.size,
        `checkpoint #${at} has size ${opened.size}, after a checkpoint of size ${lastSize}`,
      );
    }
    lastSize = opened.size;
    while (state.pos < opened.size) {
      const r = step();
      if (r === 'end') {
        return fail(
          'truncated',
          state.pos,
          `checkpoint #${at} covers ${opened.size} records, the log ends after ${state.pos}`,
        );
      }
      if (r !== null) return r;
    }
    if (!frontier.root().equals(opened.root)) {
      return fail(
        'root-mismatch',
        matchedSize,
        `root of records [0, ${opened.size}) differs from checkpoint #${at}`,
      );
    }
    matchedSize = opened.size;
    checkpointsVerified++;
  }
  for (;;) {
    const r = step();
    if (r === 'end') break;
    if (r !== null) return r;
  }
  if (state.pos < total) {
    return fail('truncated', state.pos, `the store counts ${total} records, found ${state.pos}`);
  }
  options.onProgress?.(state.pos, total);
  return {
    ok: true,
    size: state.pos,
    checkpoints: checkpointsVerified,
    pruned: state.prunedFrom < 0 ? null : { from: state.prunedFrom, to: state.prunedTo },
  };
}

interface RecordState {
  pos: number;
  prunedFrom: number;
  prunedTo: number;
}

/** Checks one record at position `state.pos` and appends its leaf; null when it is sound. */
function checkRecord(
  r: LogRecord,
  state: RecordState,
  frontier: Frontier,
  rest: Iterator<LogRecord>,
): Failure | null {
  const pos = state.pos;
  if (!recordIsSound(r, pos)) return diagnose(r, pos, rest);
  if (r.body === null) {
    if (state.prunedFrom < 0) state.prunedFrom = pos;
    state.prunedTo = pos;
  }
  frontier.append(r.leafHash);
  state.pos = pos + 1;
  return null;
}

/**
 * Whether the record at position `pos` passes every per-record check: its stored sequence,
 * its leaf hash's size, and unless pruned, its body against the leaf and its
 * `event.sequence`. One predicate for `verifyLog` and the parallel verifier's ranges
 * (verify-range.ts), so the fast path can only say ok where this one does.
 */
export function recordIsSound(r: LogRecord, pos: number): boolean {
  if (r.sequence !== pos || r.leafHash.length !== HASH_SIZE) return false;
  if (r.body === null) return true;
  if (!leafHash(r.body).equals(r.leafHash)) return false;
  return bodySequenceOk(r.body, pos);
}

/** Names the first check the record at `pos` fails (`recordIsSound` said it fails one). */
function diagnose(r: LogRecord, pos: number, rest: Iterator<LogRecord>): Failure {
  if (r.sequence !== pos) {
    return misplaced(pos, r.sequence, 'stored sequence', rest, (x) => x.sequence);
  }
  if (r.leafHash.length !== HASH_SIZE) return fail('edited', pos, 'stored leaf hash is malformed');
  if (r.body !== null && !leafHash(r.body).equals(r.leafHash)) {
    return fail('edited', pos, 'body does not match its leaf hash');
  }
  const claimed = r.body === null ? null : bodySequence(r.body);
  if (claimed === null) return fail('edited', pos, 'body has no numeric event.sequence');
  return misplaced(pos, claimed, 'event.sequence in the body', rest, (x) =>
    x.body === null ? null : bodySequence(x.body),
  );
}

/**
 * Names what happened when the record at `pos` claims sequence `found`: an earlier sequence
 * again means a record was inserted; a later one means `pos` was deleted, unless `pos`
 * still turns up further on (then the records were reordered). Reads ahead only on failure.
 */
function misplaced(
  pos: number,
  found: number,
  what: string,
  rest: Iterator<LogRecord>,
  sequenceOf: (r: LogRecord) => number | null,
): Failure {
  if (found < pos) {
    return fail('inserted', pos, `${what} ${found} appears again at position ${pos}`);
  }
  for (let next = rest.next(); next.done !== true; next = rest.next()) {
    if (sequenceOf(next.value) === pos) {
      return fail(
        'reordered',
        pos,
        `${what} ${found} stands where ${pos} belongs; ${pos} comes later`,
      );
    }
  }
  return fail('deleted', pos, `${what} jumps from ${pos - 1} to ${found}`);
}

/** Opens the starting checkpoint and restores the frontier at its size from stored nodes. */
function startAtCheckpoint(
  source: LogSource,
  options: VerifyOptions,
  verifiers: readonly NoteVerifier[],
  checkpoints: Iterator<{ readonly note: string }>,
  frontier: Frontier,
): Failure | { readonly size: number } {
  const index = options.fromCheckpoint ?? 0;
  const getNode = source.getNode?.bind(source);
  if (!Number.isSafeInteger(index) || index < 0 || getNode === undefined) {
    throw new PortwardenError('PW_ERR_VERIFY_INPUT', {
      detail: 'starting at a checkpoint needs a checkpoint position and the stored tree nodes',
    });
  }
  let item = checkpoints.next();
  for (let i = 0; i < index && item.done !== true; i++) item = checkpoints.next();
  if (item.done === true) {
    throw new PortwardenError('PW_ERR_VERIFY_INPUT', {
      detail: `there is no checkpoint #${index}`,
    });
  }
  const opened = openCheckpoint(item.value.note, verifiers, options.origin);
  if (!opened.ok) {
    const kind = opened.reason === 'unknown-key' ? 'unknown-key' : 'bad-signature';
    return fail(kind, 0, `checkpoint #${index}: ${opened.detail}`);
  }
  try {
    frontier.restore(opened.size, (level, i) => {
      const node = readNode({ getNode }, level, i);
      if (node === undefined || node.length !== HASH_SIZE) throw new Error('missing node');
      return node;
    });
  } catch {
    return fail(
      'root-mismatch',
      0,
      `stored tree lacks nodes for size ${opened.size}; verify from the start`,
    );
  }
  if (!frontier.root().equals(opened.root)) {
    return fail(
      'root-mismatch',
      0,
      `stored tree at size ${opened.size} differs from checkpoint #${index}; verify from the start`,
    );
  }
  return { size: opened.size };
}

function fail(kind: TamperKind, sequence: number, detail: string): Failure {
  return { ok: false, kind, sequence, detail };
}
