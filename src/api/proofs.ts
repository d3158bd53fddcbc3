/**
 * Inclusion proofs for the API (RFC 6962 §2.1.1 audit paths) from the Merkle tree the
 * gateway keeps in the store (the Checkpointer appends every leaf inside its commit), so a
 * proof reads O(log n) stored nodes. A record covered by a signed checkpoint is proved
 * against that checkpoint and also comes as the offline bundle `portwarden verify --bundle`
 * checks; a newer record is proved against the current tree head (unsigned, and said so).
 */
import { MerkleTree, makeProofBundle, type ProofBundle } from '../audit/integrity.js';
import type { EventRow, Store } from '../store/index.js';

export interface InclusionProof {
  readonly leaf_index: number;
  readonly tree_size: number;
  readonly leaf_hash: string;
  /** Sibling hashes bottom-up, hex. */
  readonly path: readonly string[];
  /** Root of the tree of `tree_size` leaves, hex. */
  readonly root: string;
  /** The signed checkpoint the proof leads to; null: proved against the unsigned current head. */
  readonly checkpoint: {
    readonly size: number;
    readonly root: string;
    readonly note: string;
  } | null;
  /** The offline bundle (with a checkpoint and the node's verifier key), else null. */
  readonly bundle: ProofBundle | null;
}

export type ProofAnswer =
  | { readonly available: true; readonly proof: InclusionProof }
  | { readonly available: false; readonly reason: string };

export class ProofSource {
  private readonly store: Store;
  private readonly verifierKey: () => string | null;

  constructor(store: Store, verifierKey: () => string | null) {
    this.store = store;
    this.verifierKey = verifierKey;
  }

  prove(row: EventRow): ProofAnswer {
    const size = this.store.nextSequence();
    if (size === 0 || this.store.getNode(0, size - 1) === undefined)
      return { available: false, reason: 'the store keeps no Merkle tree for these records' };
    if (row.body === null)
      return { available: false, reason: 'the record body was pruned (its leaf hash is kept)' };
    const tree = new MerkleTree(this.store, size);
    const latest = this.store.latestCheckpoint();
    const signed = latest !== undefined && latest.size > row.sequence && latest.size <= size;
    const treeSize = signed ? latest.size : size;
    const path = tree.inclusionProof(row.sequence, treeSize);
    const key = signed ? this.verifierKey() : null;
    return {
      available: true,
      proof: {
        leaf_index: row.sequence,
        tree_size: treeSize,
        leaf_hash: row.leafHash.toString('hex'),
        path: path.map((h) => h.toString('hex')),
        root: tree.root(treeSize).toString('hex'),
        checkpoint: signed
          ? { size: latest.size, root: latest.root.toString('hex'), note: latest.note }
          : null,
        bundle:
          signed && key !== null
            ? makeProofBundle({
                record: row.body,
                sequence: row.sequence,
                path,
                checkpoint: latest.note,
                verifierKey: key,
              })
            : null,
      },
    };
  }
}
