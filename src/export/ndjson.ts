/** NDJSON: the record itself (its canonical JSON), one per line. */
import type { EventRow } from '../store/index.js';

export function ndjsonLine(r: EventRow): string {
  return (
    (r.body ??
      JSON.stringify({
        event: { sequence: r.sequence, id: r.id, action: r.action },
        pruned: true,
      })) + '\n'
  );
}
