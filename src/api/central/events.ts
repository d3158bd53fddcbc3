/** Central records as the API returns them: a search row plus its node and `ref`. */
import type { CentralRow } from '../../ship/index.js';
import type { EventRow } from '../../store/index.js';
import { type ApiEvent, toApiEvent } from '../records.js';

export type CentralApiEvent = ApiEvent & {
  readonly node: string;
  /** `NODE:SEQ`, the record's name across nodes (GET /api/v1/events/NODE:SEQ). */
  readonly ref: string;
};

export function toCentralEvent(r: CentralRow, withCanonical = false): CentralApiEvent {
  const row: EventRow = {
    ...r,
    // A record whose body the node pruned has only its leaf: no id or action columns.
    id: r.id ?? '',
    action: r.action ?? '-',
  };
  return { ...toApiEvent(row, withCanonical), node: r.node, ref: `${r.node}:${r.sequence}` };
}
