/**
 * "Verify now" for the dashboard: the same streaming check as `portwarden verify` (every leaf
 * recomputed, sequences in order, the root at every checkpoint, every signature with the
 * node's key), run in the API process, with when it ran and how long it took.
 */
import { verifyLog, type VerifyResult } from '../audit/integrity.js';
import { storeLogSource } from '../audit/store-log.js';
import type { Store } from '../store/index.js';

export type VerifyReport = VerifyResult & {
  readonly checked_at: string;
  readonly duration_ms: number;
};

export function verifyStore(
  store: Store,
  key: { readonly verifierKey: string; readonly name: string },
): VerifyReport {
  const started = Date.now();
  const result = verifyLog(storeLogSource(store), {
    verifierKeys: [key.verifierKey],
    origin: key.name,
  });
  return {
    ...result,
    checked_at: new Date(started).toISOString(),
    duration_ms: Date.now() - started,
  };
}
