/** Store rows written directly (not through the Recorder), for the store's own tests. */
import { createHash } from 'node:crypto';
import { canonicalJson } from '../../src/audit/canonical.js';
import { NO_CONTEXT } from '../../src/audit/recorder.js';
import { endpointObject } from '../../src/ingest/ingested.js';
import type { EventRow } from '../../src/store/index.js';

const { fields: _fields, ...NO_COLUMNS } = NO_CONTEXT;
const COLUMN_DEFAULTS = { ...NO_COLUMNS, outcome: 'success', listener: 'l', text: null };

type Columns = { -readonly [K in keyof typeof COLUMN_DEFAULTS]: EventRow[K] };

/** `{ ip, port }` without the null parts, or undefined when both are null. */
function endpoint(ip: string | null, port: number | null): Record<string, unknown> | undefined {
  const o = endpointObject(ip, port);
  return Object.keys(o).length > 0 ? o : undefined;
}

/** The record members that give a row its columns (the store reads them from the body). */
function bodyOf(sequence: number, action: string, c: Columns): Record<string, unknown> {
  const upstream = {
    ...endpoint(c.upstreamIp, c.upstreamPort),
    ...(c.upstreamLocalIp !== null || c.upstreamLocalPort !== null
      ? { local: endpoint(c.upstreamLocalIp, c.upstreamLocalPort) }
      : {}),
  };
  const members: Record<string, unknown> = {
    event: { action, sequence, ...(c.outcome !== null ? { outcome: c.outcome } : {}) },
    listener: c.listener !== null ? { name: c.listener } : undefined,
    connection: c.connectionId !== null ? { id: c.connectionId } : undefined,
    source: endpoint(c.sourceIp, c.sourcePort),
    destination: endpoint(c.destinationIp, c.destinationPort),
    upstream: Object.keys(upstream).length > 0 ? upstream : undefined,
    user: c.user !== null ? { name: c.user } : undefined,
    network: c.communityId !== null ? { community_id: c.communityId } : undefined,
    url: c.text !== null ? { path: c.text } : undefined,
  };
  for (const k of Object.keys(members)) if (members[k] === undefined) delete members[k];
  return members;
}

/**
 * A db-query row: its body holds its columns (the event's action, outcome and sequence,
 * listener, connection, endpoints, user, Community ID, and its text as `url.path`), then
 * the members of `body` (which win), and its leaf is the RFC 6962 leaf hash of that body
 * (0x00 || body), computed here rather than by the code under test. `fields` overrides
 * any column, and the body says the same.
 */
export function eventRow(
  sequence: number,
  timestampNs: bigint,
  options: { readonly fields?: Partial<EventRow>; readonly body?: Record<string, unknown> } = {},
): EventRow {
  const columns = { ...COLUMN_DEFAULTS, ...options.fields } as Columns;
  const action = options.fields?.action ?? 'db-query';
  const body = canonicalJson({ ...bodyOf(sequence, action, columns), ...options.body });
  return {
    sequence,
    timestampNs,
    id: `id-${sequence}`,
    action,
    ...columns,
    body,
    leafHash: createHash('sha256')
      .update(Buffer.from([0]))
      .update(body)
      .digest(),
    ...options.fields,
  };
}
