/** The report's integrity line: `verify` over the whole log with the data dir's node key. */
import { readNodeKey } from '../../audit/store-log.js';
import { verifyInWorker } from '../../audit/integrity.js';
import { errorMessage } from '../../errors.js';
import type { Store } from '../../store/index.js';
import type { IntegrityStatus } from './data.js';

/**
 * Verify every record and checkpoint, in a worker thread on the embedded store (a running
 * gateway keeps forwarding meanwhile).
 */
export async function checkIntegrity(store: Store, dataDir: string): Promise<IntegrityStatus> {
  let key;
  try {
    key = readNodeKey(dataDir);
  } catch (err) {
    return { status: 'not-checked', detail: errorMessage(err) };
  }
  try {
    const result = await verifyInWorker(store, key);
    if (result.ok)
      return {
        status: 'ok',
        detail: `${result.size} records and ${result.checkpoints} signed checkpoint${result.checkpoints === 1 ? '' : 's'} verified`,
        records: result.size,
        checkpoints: result.checkpoints,
      };
    return {
      status: 'tampered',
      detail: `${result.kind} at sequence ${result.sequence}: ${result.detail}`,
    };
  } catch (err) {
    return { status: 'not-checked', detail: `verify failed: ${errorMessage(err)}` };
  }
}
