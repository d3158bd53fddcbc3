/** The integrity core's public face: Merkle tree, signed notes, checkpoints, keys, verify, bundles. */
export {
  EMPTY_ROOT,
  HASH_SIZE,
  checkConsistency,
  checkInclusion,
  leafHash,
  nodeHash,
  rootFromInclusionProof,
  verifyConsistency,
  verifyInclusion,
} from './merkle.js';
export type { ProofCheck } from './merkle.js';
export { Frontier, MemoryNodeStore, MerkleTree } from './tree.js';
export type { TreeNodeStore } from './tree.js';
export {
  formatSignerKey,
  formatVerifierKey,
  isValidKeyName,
  noteKeyId,
  openNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  signerFromSeed,
  strictBase64,
  verifierOf,
} from './note.js';
export type { NoteOpenResult, NoteSigner, NoteVerifier } from './note.js';
export {
  formatCheckpoint,
  makeSignedCheckpoint,
  openCheckpoint,
  parseCheckpoint,
} from './checkpoint.js';
export type {
  Checkpoint,
  CheckpointFailure,
  CheckpointOpenResult,
  OpenedCheckpoint,
} from './checkpoint.js';
export { NODE_KEY_FILE, loadOrCreateNodeKey } from './node-key.js';
export type { NodeKey } from './node-key.js';
export { verifyLog } from './verify.js';
export type { LogRecord, LogSource, TamperKind, VerifyOptions, VerifyResult } from './verify.js';
export {
  makeConsistencyBundle,
  makeProofBundle,
  verifyBundle,
  verifyConsistencyBundle,
} from './bundle.js';
export type { BundleOptions, BundleResult, ConsistencyBundle, ProofBundle } from './bundle.js';
export { verifyInWorker, type VerifyKey } from './verify-in-worker.js';
export { defaultVerifyThreads, verifyLogParallel } from './verify-parallel.js';
export type { ParallelVerifyOptions } from './verify-parallel.js';
