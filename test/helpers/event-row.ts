/** Store rows written directly (not through the Recorder), for the store's own tests. */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/audit/canonical.js';
import type { EventRow } from '../../src/store/index.js';

/**
 * A db-query row with no tuple: its body is the canonical JSON of `{ event: { action,
 * sequence }, ...body }` and its leaf the RFC 6962 leaf hash of that body (0x00 || body),
 * computed here rather than by the code under test. `fields` overrides any column.
 */
export function eventRow(
  sequence: number,
  timestampNs: bigint,
  options: { readonly fields?: Partial<EventRow>; readonly body?: Record<string, unknown> } = {},
): EventRow {
  const body = canonicalJson({ event: { action: 'db-query', sequence }, ...options.body });
  return {
    sequence,
    timestampNs,
    id: `id-${sequence}`,
    action: 'db-query',
    outcome: 'success',
    listener: 'l',
    connectionId: null,
    sourceIp: null,
    sourcePort: null,
    destinationIp: null,
    destinationPort: null,
    upstreamLocalIp: null,
    upstreamLocalPort: null,
    upstreamIp: null,
    upstreamPort: null,
    user: null,
    communityId: null,
    text: null,
    body,
    leafHash: createHash('sha256')
      .update(Buffer.from([0]))
      .update(body)
      .digest(),
    ...options.fields,
  };
}
