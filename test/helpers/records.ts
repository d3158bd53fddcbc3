/** Reading the records an integration test's gateway committed. */
import type { JsonObject } from '../../src/audit/event.js';
import { byAction, type TestGateway } from './gateway.js';

/**
 * Polls until a committed record with this `event.action` satisfies `pred` and answers the
 * first such record (fails after the gateway's wait deadline).
 */
export async function waitForRecord(
  gw: TestGateway,
  action: string,
  pred: (record: JsonObject) => boolean,
): Promise<JsonObject> {
  const evs = await gw.waitForEvents((e) => byAction(e, action).some(pred));
  const found = byAction(evs, action).find(pred);
  if (found === undefined) throw new Error(`no ${action} record after the wait`);
  return found;
}
