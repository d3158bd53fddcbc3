/**
 * What the central API reads. The gateway API reads its own synchronous Store; the central
 * API reads the collector's PostgreSQL database asynchronously through this interface,
 * implemented by CentralReader (src/ship/central-read.ts). Tests may pass any object with
 * these methods.
 */
import type { CentralReader } from '../../ship/index.js';

export type CentralSource = Pick<
  CentralReader,
  | 'search'
  | 'count'
  | 'groupBy'
  | 'buckets'
  | 'record'
  | 'recordById'
  | 'connectionAt'
  | 'nodes'
  | 'findings'
  | 'checkpoints'
  | 'verifyNode'
  | 'tail'
>;

/** What the central routes reach. */
export interface CentralApiContext {
  readonly source: CentralSource;
  /** Verifier keys of the nodes (`--key`, `--keys-file`), for POST /integrity/verify. */
  readonly keys: readonly string[];
  /** Aborted when the server stops (ends live streams). */
  readonly closing: AbortSignal;
  /** How often the live tail looks for new records (ms). */
  readonly pollMs: number;
  /** The last verify result per node. */
  readonly lastVerify: Map<string, CentralVerifyReport>;
}

export interface CentralVerifyReport {
  readonly node: string;
  readonly ok: boolean;
  readonly checked_at: string;
  readonly duration_ms: number;
  readonly size?: number;
  readonly checkpoints?: number;
  readonly kind?: string;
  readonly sequence?: number;
  readonly detail?: string;
}
