/** The report's integrity line: `verify` over the whole log with the data dir's node key. */
import { readNodeKey, storeLogSource } from '../../audit/store-log.js';
import { verifyLog } from '../../audit/integrity.js';
import { errorMessage } from '../../errors.js';
import type { Store } from '../../store/index.js';
import type { IntegrityStatus } from './data.js';

/**
 * Verify every record and checkpoint. Synchronous: in a running gateway it holds the event
 * loop for the duration (about a second per few hundred thousand records).
 */
export function checkIntegrity(store: Store, dataDir: string): IntegrityStatus {
  let key;
  try {
    key = readNodeKey(dataDir);
  } catch (err) {
    return { status: 'not-checked', detail: errorMessage(err) };
  }
  const source = storeLogSource(store);
  try {
    const result = verifyLog(source, { verifierKeys: [key.verifierKey], origin: key.name });
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
  } finally {
    source.release();
  }
}
