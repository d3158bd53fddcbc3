/**
 * Keeps the node's Merkle tree in step with the store and signs checkpoints: it is the
 * Recorder's tree (every leaf is appended inside the commit transaction, or by the store's
 * writer thread from the tree's edge, which the tree then adopts); at each interval (when
 * records other than the last checkpoint's own record arrived) and at shutdown the current
 * root is signed as a C2SP checkpoint, stored, appended to `<data_dir>/checkpoints.log`,
 * and recorded as a `checkpoint` event.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Store } from '../store/index.js';
import { errorMessage } from '../errors.js';
import { makeSignedCheckpoint } from './checkpoint.js';
import type { NodeKey } from './node-key.js';
import type { RecordTree, Recorder } from './recorder.js';
import { MerkleTree, type TreeEdge } from './tree.js';

export const CHECKPOINTS_LOG = 'checkpoints.log';

export class Checkpointer implements RecordTree {
  private tree: MerkleTree;
  private readonly store: Store;
  private readonly key: NodeKey;
  private readonly origin: string;
  private readonly dataDir: string;
  private readonly log: Logger | undefined;
  private recorder: Recorder | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Tree size covered by the newest checkpoint, and the sequence of its own record. */
  private lastSize: number;
  private lastCheckpointRecord = -1;

  constructor(store: Store, key: NodeKey, origin: string, dataDir: string, log?: Logger) {
    this.store = store;
    this.key = key;
    this.origin = origin;
    this.dataDir = dataDir;
    this.log = log;
    this.tree = new MerkleTree(store, store.nextSequence());
    this.lastSize = store.latestCheckpoint()?.size ?? 0;
  }

  /** RecordTree: runs inside the commit transaction. */
  append(leafHash: Buffer, sequence: number): void {
    if (sequence !== this.tree.size)
      throw new Error(`leaf ${sequence} out of order (tree size ${this.tree.size})`);
    this.tree.append(leafHash);
  }

  /** RecordTree: where a commit on the store's writer thread starts. */
  edge(): TreeEdge {
    return this.tree.edge();
  }

  /** RecordTree: the writer thread committed leaves and nodes up to this edge. */
  adopt(edge: TreeEdge): void {
    this.tree.adopt(edge);
  }

  /** RecordTree: a refused commit left the in-memory frontier ahead (or behind); rebuild it. */
  rebuild(): void {
    this.tree = new MerkleTree(this.store, this.store.nextSequence());
  }

  get treeSize(): number {
    return this.tree.size;
  }

  get merkleTree(): MerkleTree {
    return this.tree;
  }

  /** Record `checkpoint` events through this recorder (and flush it before signing). */
  attach(recorder: Recorder): void {
    this.recorder = recorder;
  }

  /** Start signing every `intervalMs`. */
  start(recorder: Recorder, intervalMs: number): void {
    this.attach(recorder);
    this.timer = setInterval(() => this.checkpointIfNew(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Sign a checkpoint if records other than the last checkpoint's own record arrived. */
  checkpointIfNew(): string | null {
    // Appended records count, committed or not (a batch on the writer thread is in neither
    // the tree nor the store until it lands): checkpointNow commits them first.
    const size = this.recorder?.size ?? this.tree.size;
    const onlyOwnRecord = size === this.lastSize + 1 && this.lastCheckpointRecord === this.lastSize;
    if (size === 0 || size === this.lastSize || onlyOwnRecord) return null;
    return this.checkpointNow();
  }

  /** Sign the current tree head now (commits pending records first). */
  checkpointNow(): string | null {
    try {
      this.recorder?.flush();
      const size = this.tree.size;
      if (size === 0) return null;
      const root = this.tree.root(size);
      const note = makeSignedCheckpoint({ origin: this.origin, size, root, key: this.key.signer });
      const timestampNs = BigInt(Date.now()) * 1_000_000n;
      this.store.insertCheckpoint({ size, timestampNs, root, note });
      appendFileSync(join(this.dataDir, CHECKPOINTS_LOG), note + '\n', { mode: 0o600 });
      this.lastSize = size;
      if (this.recorder) {
        const ref = this.recorder.append({
          event: {
            action: 'checkpoint',
            category: ['configuration'],
            type: ['info'],
            outcome: 'success',
          },
          checkpoint: {
            tree_size: size,
            root: root.toString('base64'),
            key_id: this.key.keyId,
            origin: this.origin,
          },
        });
        this.lastCheckpointRecord = ref.sequence;
      }
      return note;
    } catch (err) {
      this.log?.error({ err: errorMessage(err) }, 'checkpoint failed');
      return null;
    }
  }
}
