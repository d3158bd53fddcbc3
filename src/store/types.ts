/**
 * The Store interface: where committed records live. The embedded SQLite backend is the
 * default; every backend passes test/unit/store/conformance. Records are append-only: no
 * method updates or deletes a record body except `pruneBodies`, which keeps leaf hashes.
 */
import type { TreeEdge } from '../audit/tree.js';
import type { BodyBytes } from './body-arena.js';
import type { EventFilter } from './filter.js';

/** One record with its indexed columns, as stored. */
export interface EventRow {
  readonly sequence: number;
  readonly timestampNs: bigint;
  readonly id: string;
  readonly action: string;
  readonly outcome: string | null;
  readonly listener: string | null;
  readonly connectionId: string | null;
  readonly sourceIp: string | null;
  readonly sourcePort: number | null;
  readonly destinationIp: string | null;
  readonly destinationPort: number | null;
  readonly upstreamLocalIp: string | null;
  readonly upstreamLocalPort: number | null;
  readonly upstreamIp: string | null;
  readonly upstreamPort: number | null;
  readonly user: string | null;
  readonly communityId: string | null;
  /** Statement, command or path, for text search. */
  readonly text: string | null;
  /**
   * Columns the store derives from the body when it inserts a record (writers leave them
   * out; rows read back always have them).
   */
  readonly upstreamCommunityId?: string | null;
  readonly rule?: string | null;
  readonly policyVersion?: string | null;
  readonly dbNamespace?: string | null;
  /** SQL operation, Redis command or HTTP method. */
  readonly operation?: string | null;
  /** Statement class (read, write, ddl, …). */
  readonly statementClass?: string | null;
  /** SQLSTATE, HTTP status or Redis error code. */
  readonly status?: string | null;
  /** Observer node id. */
  readonly node?: string | null;
  /** Canonical JSON of the record; null when the body was pruned. */
  readonly body: string | null;
  readonly leafHash: Buffer;
}

/** What verify reads of a record. */
export interface LeafRow {
  readonly sequence: number;
  readonly body: string | null;
  readonly leafHash: Buffer;
}

/** What a background commit wrote beyond its rows (Store.transactionInBackground). */
export interface BackgroundLanding {
  /** The records' leaf hashes, 32 bytes each, in order. */
  readonly leaves: Uint8Array;
  /** The tree's edge after them (null when no edge was given). */
  readonly edge: TreeEdge | null;
}

/**
 * The records with sequence in [from, to) as verify's fast path reads them: a few buffers
 * for the whole batch instead of one row each (a row's strings cost more to make than the
 * hashing they feed). Items are in storage (sequence) order.
 */
export interface LeafBatch {
  /** Rows read, and their smallest and largest sequence (-1 when there are none). */
  readonly count: number;
  readonly first: number;
  readonly last: number;
  /** Rows whose leaf is not a 32-byte BLOB. */
  readonly malformed: number;
  /** Each row's body length in bytes, or -1 when pruned, comma-separated. */
  readonly lengths: string;
  /** What each unpruned row's leaf hash covers: 0x00 then the body's UTF-8 bytes. */
  readonly leafInputs: Buffer;
  /** Every row's stored leaf hash, 32 bytes each. */
  readonly leaves: Buffer;
}

export interface CheckpointRow {
  readonly size: number;
  readonly timestampNs: bigint;
  readonly root: Buffer;
  /** The C2SP signed note. */
  readonly note: string;
}

export interface Page {
  readonly rows: readonly EventRow[];
  /** Pass as `after` to get the next page; null at the end. */
  readonly next: number | null;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Run `fn` in one transaction (group commit). */
  transaction(fn: () => void): void;
  /**
   * Append one record. A row's columns are what its body says (the Recorder derives them
   * from the record it serialized); a backend may read them from the body instead of
   * storing them (the embedded store does: sqlite-log-rows.ts). `bytes`, when given, is the
   * same body as UTF-8 bytes in a shared chunk (body-arena.ts): a backend that commits off
   * this thread hands those over instead of the string.
   */
  insertEvent(row: EventRow, bytes?: BodyBytes | null): void;
  /**
   * Like `transaction` for a batch of `records`, but committed off this thread; `done` runs
   * on this thread once the writes are committed or refused. False, without running `fn`,
   * when the store will not now (no writer thread, a batch still in flight, or too few
   * records to be worth the hop). Optional: the embedded store's.
   *
   * The records `fn` inserts need no leaf hash: the writer hashes each body (RFC 6962:
   * SHA-256 of 0x00 ‖ its UTF-8) and, given the tree's `edge` (whose size must be the first
   * record's sequence), appends the leaves to it and stores the nodes they complete. `done`
   * receives the leaves and the edge reached — or null for both when the writer was lost
   * after committing (the batch is in the log; its leaves and tree are read from there).
   */
  transactionInBackground?(
    records: number,
    fn: () => void,
    done: (err: Error | null, landed: BackgroundLanding | null) => void,
    edge?: TreeEdge,
  ): boolean;
  /** True when `transactionInBackground` may take batches (a writer thread runs). */
  readonly commitsInBackground?: boolean;
  /** Blocks until the background batch in flight, if any, has landed. */
  settleBackground?(): void;
  /** The sequence the next record gets (0 for an empty store). */
  nextSequence(): number;
  lastTimestampNs(): bigint;
  getBySequence(sequence: number): EventRow | undefined;
  getById(id: string): EventRow | undefined;
  /** All records from `from` in sequence order, streamed. */
  iterate(from?: number, to?: number): IterableIterator<EventRow>;
  /** Sequence, body and leaf hash only, from `from` on (verify; optional, faster than iterate). */
  iterateLeaves?(from: number): IterableIterator<LeafRow>;
  /** The records with sequence in [from, to) in one batch (verify's fast path). */
  leafBatch?(from: number, to: number): LeafBatch;
  search(filter: EventFilter): Page;
  count(filter: EventFilter): number;
  groupBy(filter: EventFilter, key: GroupKey): { key: string; count: number }[];
  /** The connection that held `ip:port` on its client or upstream leg at `atNs`. */
  connectionAt(ip: string, port: number, atNs: bigint): ConnectionAt | null;
  /** A connection's connection-open and connection-close records. */
  connectionEnds(connectionId: string): { open: EventRow | null; close: EventRow | null };
  /** The first sequence with this source IP, or null ("new source" in summaries). */
  firstSequenceOfSource(sourceIp: string): number | null;
  /**
   * Merkle subtree hashes (see audit/tree). Level 0 is the record's own leaf hash: a backend
   * may answer it from the record (the SQLite log does) and ignore level-0 writes.
   */
  getNode(level: number, index: number): Buffer | undefined;
  putNode(level: number, index: number, hash: Buffer): void;
  insertCheckpoint(row: CheckpointRow): void;
  checkpoints(): CheckpointRow[];
  latestCheckpoint(): CheckpointRow | undefined;
  /** Remove bodies (not leaf hashes) of records before `beforeNs`; returns the sequence range. */
  pruneBodies(beforeNs: bigint): { from: number; to: number; count: number } | null;
  getMeta(key: string): string | undefined;
  setMeta(key: string, value: string): void;
  close(): void;
}

export const GROUP_KEYS = [
  'listener',
  'user',
  'source',
  'action',
  'hour',
  'outcome',
  'rule',
  'operation',
  'status',
  'db',
] as const;
export type GroupKey = (typeof GROUP_KEYS)[number];

export interface ConnectionAt {
  /** Which leg matched: the client's source port or the gateway's own upstream port. */
  readonly leg: 'client' | 'upstream';
  readonly open: EventRow;
  readonly close: EventRow | null;
}
