/** What every route handler reaches: the gateway's store, recorder and listeners, and helpers. */
import type { Recorder } from '../audit/recorder.js';
import type { Gateway } from '../gateway/index.js';
import type { ListeningSocket } from '../inventory/index.js';
import type { Store } from '../store/index.js';
import type { TokenAuthority } from './auth.js';
import type { GatewayMetrics } from './metrics.js';
import type { ProofSource } from './proofs.js';
import type { VerifyReport } from './verify.js';

/** What a policy reload reports (the gateway's PolicyReloader result satisfies it). */
export interface PolicyReloadAnswer {
  readonly ok: boolean;
  readonly sequence: number;
  readonly error?: string;
}

export interface ApiContext {
  readonly gateway: Gateway;
  readonly store: Store;
  readonly recorder: Recorder;
  readonly auth: TokenAuthority;
  readonly proofs: ProofSource;
  readonly metrics: GatewayMetrics;
  /** Policy reload (admin); absent when the gateway was started without a reloader. */
  reloadPolicies: (() => PolicyReloadAnswer) | null;
  /** The node's verifier key (for bundles and verify); null when the data dir has none. */
  readonly nodeKey: () => { readonly verifierKey: string; readonly name: string } | null;
  readonly scanInventory: () => Promise<ListeningSocket[]>;
  /** Aborted when the server stops (ends live streams). */
  readonly closing: AbortSignal;
  lastVerify: VerifyReport | null;
}
