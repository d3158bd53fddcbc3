/**
 * "Verify now" for the dashboard: the same streaming check as `portwarden verify` (every leaf
 * recomputed, sequences in order, the root at every checkpoint, every signature with the
 * node's key), in a worker thread so the gateway keeps forwarding, with when it ran and
 * how long it took.
 */
import { verifyInWorker, type VerifyResult } from '../audit/integrity.js';
import type { Store } from '../store/index.js';

export type VerifyReport = VerifyResult & {
  readonly checked_at: string;
  readonly duration_ms: number;
};

export async function verifyStore(
  store: Store,
  key: { readonly verifierKey: string; readonly name: string },
): Promise<VerifyReport> {
  const started = Date.now();
  const result = await verifyInWorker(store, key);
  return {
    ...result,
    checked_at: new Date(started).toISOString(),
    duration_ms: Date.now() - started,
  };
}
