/**
 * Proof bundles: self-contained JSON that proves, offline and with only the public key, that
 * one record is in the signed log (inclusion) or that one checkpoint extends another
 * (consistency) — DESIGN §5. Hashes are lowercase hex; checkpoints are signed-note text.
 */
import { z } from 'zod';
import { PortwardenError } from '../errors.js';
import { parseCheckpoint, openCheckpoint } from './checkpoint.js';
import type { OpenedCheckpoint } from './checkpoint.js';
import { bodySequence } from './body-sequence.js';
import { checkConsistency, checkInclusion, leafHash } from './merkle.js';
import { parseVerifierKey } from './note.js';
import type { NoteVerifier } from './note.js';

const hex32 = z.string().regex(/^[0-9a-f]{64}$/, 'a 64-digit lowercase hex hash');
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
// 2^53 leaves need at most 53 path nodes; anything longer is refused before hashing.
const path = z.array(hex32).max(64);
const note = z.string().max(65_536);

const proofBundleSchema = z.strictObject({
  version: z.literal(1),
  record: z.string(),
  sequence: count,
  leafHash: hex32,
  inclusion: z.strictObject({ index: count, size: count, path }),
  checkpoint: note,
  verifierKey: z.string().max(1024),
});

const consistencyBundleSchema = z.strictObject({
  version: z.literal(1),
  size1: count,
  size2: count,
  root1: hex32,
  root2: hex32,
  proof: path,
  checkpoints: z.tuple([note, note]),
  verifierKey: z.string().max(1024),
});

/** Proves that `record` is leaf `sequence` of the log a signed checkpoint commits to. */
export type ProofBundle = z.infer<typeof proofBundleSchema>;
/** Proves that the second signed checkpoint extends the first. */
export type ConsistencyBundle = z.infer<typeof consistencyBundleSchema>;

export interface BundleOptions {
  /** Trust only this verifier key (the bundled one must equal it). */
  readonly verifierKey?: string;
  /** The origin (node name) the checkpoints must carry. */
  readonly origin?: string;
}

export type BundleResult =
  | { readonly ok: true; readonly origin: string; readonly keyName: string; readonly size: number }
  | { readonly ok: false; readonly detail: string };

/** Builds an inclusion bundle from a record body, its audit path and the checkpoint it was proved against. */
export function makeProofBundle(args: {
  readonly record: string;
  readonly sequence: number;
  readonly path: readonly Buffer[];
  readonly checkpoint: string;
  readonly verifierKey: string;
}): ProofBundle {
  return {
    version: 1,
    record: args.record,
    sequence: args.sequence,
    leafHash: leafHash(args.record).toString('hex'),
    inclusion: {
      index: args.sequence,
      size: checkpointSize(args.checkpoint),
      path: args.path.map((p) => p.toString('hex')),
    },
    checkpoint: args.checkpoint,
    verifierKey: args.verifierKey,
  };
}

/** Builds a consistency bundle between two signed checkpoints. */
export function makeConsistencyBundle(args: {
  readonly checkpoint1: string;
  readonly checkpoint2: string;
  readonly proof: readonly Buffer[];
  readonly verifierKey: string;
}): ConsistencyBundle {
  const first = checkpointBody(args.checkpoint1);
  const second = checkpointBody(args.checkpoint2);
  return {
    version: 1,
    size1: first.size,
    size2: second.size,
    root1: first.root.toString('hex'),
    root2: second.root.toString('hex'),
    proof: args.proof.map((p) => p.toString('hex')),
    checkpoints: [args.checkpoint1, args.checkpoint2],
    verifierKey: args.verifierKey,
  };
}

/**
 * Verifies an inclusion bundle: leaf = hash(record), the record's own event.sequence, index
 * = sequence < size, the checkpoint signature and origin, and the audit path to its root.
 */
export function verifyBundle(input: unknown, options: BundleOptions = {}): BundleResult {
  const parsed = proofBundleSchema.safeParse(input);
  if (!parsed.success) return bad(`not a proof bundle: ${parsed.error.issues[0]?.message ?? ''}`);
  const b = parsed.data;
  const leaf = leafHash(b.record);
  if (leaf.toString('hex') !== b.leafHash) return bad('leaf hash does not match the record');
  // Every record the Recorder writes carries its sequence; one without is not one of ours.
  const claimed = bodySequence(b.record);
  if (claimed === null) return bad('record has no numeric event.sequence');
  if (claimed !== b.sequence) {
    return bad(`record says sequence ${claimed}, bundle says ${b.sequence}`);
  }
  if (b.inclusion.index !== b.sequence) return bad('inclusion index is not the sequence');
  if (b.inclusion.index >= b.inclusion.size) return bad('index is outside the tree');
  const checkpoint = openTrusted(b.checkpoint, b.verifierKey, options);
  if ('detail' in checkpoint) return checkpoint;
  if (checkpoint.size !== b.inclusion.size) return bad('checkpoint size is not the proof size');
  const path = b.inclusion.path.map((p) => Buffer.from(p, 'hex'));
  const check = checkInclusion(leaf, b.inclusion.index, b.inclusion.size, path, checkpoint.root);
  if (!check.ok) return bad(`inclusion proof: ${check.reason}`);
  return {
    ok: true,
    origin: checkpoint.origin,
    keyName: checkpoint.keyName,
    size: checkpoint.size,
  };
}

/** Verifies a consistency bundle: both checkpoint signatures, their sizes and roots, and the proof. */
export function verifyConsistencyBundle(input: unknown, options: BundleOptions = {}): BundleResult {
  const parsed = consistencyBundleSchema.safeParse(input);
  if (!parsed.success) {
    return bad(`not a consistency bundle: ${parsed.error.issues[0]?.message ?? ''}`);
  }
  const b = parsed.data;
  const first = openTrusted(b.checkpoints[0], b.verifierKey, options);
  if ('detail' in first) return first;
  const second = openTrusted(b.checkpoints[1], b.verifierKey, options);
  if ('detail' in second) return second;
  if (first.origin !== second.origin) return bad('the checkpoints are of different logs');
  if (first.size !== b.size1 || first.root.toString('hex') !== b.root1) {
    return bad('first checkpoint does not match size1/root1');
  }
  if (second.size !== b.size2 || second.root.toString('hex') !== b.root2) {
    return bad('second checkpoint does not match size2/root2');
  }
  const proof = b.proof.map((p) => Buffer.from(p, 'hex'));
  const check = checkConsistency(b.size1, b.size2, first.root, second.root, proof);
  if (!check.ok) return bad(`consistency proof: ${check.reason}`);
  return { ok: true, origin: second.origin, keyName: second.keyName, size: second.size };
}

function openTrusted(
  noteText: string,
  bundledKey: string,
  options: BundleOptions,
): OpenedCheckpoint | { readonly ok: false; readonly detail: string } {
  if (options.verifierKey !== undefined && options.verifierKey !== bundledKey) {
    return bad('the bundle is signed for another key than the expected one');
  }
  let verifier: NoteVerifier;
  try {
    verifier = parseVerifierKey(bundledKey);
  } catch {
    return bad('the bundled verifier key is malformed');
  }
  const opened = openCheckpoint(noteText, [verifier], options.origin);
  if (!opened.ok) return bad(`checkpoint ${opened.reason}: ${opened.detail}`);
  return opened;
}

function checkpointBody(noteText: string): { readonly size: number; readonly root: Buffer } {
  const split = noteText.lastIndexOf('\n\n');
  const parsed = parseCheckpoint(split < 0 ? noteText : noteText.slice(0, split + 1));
  if (!parsed.ok) {
    throw new PortwardenError('PW_ERR_INTERNAL', {
      detail: `not a checkpoint note: ${parsed.detail}`,
    });
  }
  return parsed;
}

function checkpointSize(noteText: string): number {
  return checkpointBody(noteText).size;
}

/** The record's own event.sequence, or null when it carries none. */
function bad(detail: string): { readonly ok: false; readonly detail: string } {
  return { ok: false, detail };
}
