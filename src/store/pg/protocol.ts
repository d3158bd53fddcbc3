/** What PostgresStore and its worker (worker.ts) send each other through the sync bridge. */

export interface WorkerData {
  /** Connection string for the driver (password included; never logged). */
  readonly connection: string;
  readonly schema: string;
  /** The URL without its password, for messages. */
  readonly redacted: string;
  readonly readonly: boolean;
  readonly connectTimeoutMs: number;
  /** Server-side `statement_timeout`. */
  readonly statementTimeoutMs: number;
  /** The driver's own deadline for an answer (then the connection is dropped). */
  readonly queryTimeoutMs: number;
}

/** One group commit: everything a `transaction(fn)` wrote, sent in one call. */
export interface CommitBatch {
  /** Day partitions to create before the insert. */
  readonly days: readonly number[];
  readonly events: {
    /** Sequences [first, end), consecutive. */
    readonly first: number;
    readonly end: number;
    /** Largest timestamp of the batch (ns, decimal). */
    readonly maxTs: string;
    /** One array per column of EVENT_COLUMNS, in that order. */
    readonly columns: readonly (readonly unknown[])[];
    /** Per row: the distinct search words, space separated, or null (see schema.ts). */
    readonly lexemes: readonly (string | null)[];
  } | null;
  readonly nodes: {
    readonly level: readonly number[];
    readonly index: readonly number[];
    readonly hash: readonly Uint8Array[];
  };
  readonly checkpoints: readonly {
    readonly size: number;
    readonly ts: string;
    readonly root: Uint8Array;
    readonly note: string;
  }[];
  readonly meta: readonly (readonly [string, string])[];
}

export interface CommitResult {
  /** `already`: a retried batch whose first attempt had committed. */
  readonly outcome: 'committed' | 'already';
}
