/** Committed rows as the API returns them: indexed columns plus the parsed record. */
import { formatTimestampNs } from '../audit/clock.js';
import type { JsonObject } from '../audit/event.js';
import type { EventRow } from '../store/index.js';

export interface ApiEndpoint {
  readonly ip: string | null;
  readonly port: number | null;
}

export interface ApiEvent {
  readonly sequence: number;
  readonly id: string;
  readonly timestamp: string;
  readonly action: string;
  readonly outcome: string | null;
  readonly listener: string | null;
  readonly connection: string | null;
  readonly source: ApiEndpoint;
  readonly destination: ApiEndpoint;
  readonly upstream_local: ApiEndpoint;
  readonly upstream: ApiEndpoint;
  readonly user: string | null;
  readonly community_id: string | null;
  readonly text: string | null;
  readonly leaf_hash: string;
  /** The canonical JSON exactly as hashed (only on single-event answers; null when pruned). */
  readonly canonical?: string | null;
  readonly record: JsonObject | null;
}

export function toApiEvent(r: EventRow, withCanonical = false): ApiEvent {
  return {
    sequence: r.sequence,
    id: r.id,
    timestamp: formatTimestampNs(r.timestampNs),
    action: r.action,
    outcome: r.outcome,
    listener: r.listener,
    connection: r.connectionId,
    source: { ip: r.sourceIp, port: r.sourcePort },
    destination: { ip: r.destinationIp, port: r.destinationPort },
    upstream_local: { ip: r.upstreamLocalIp, port: r.upstreamLocalPort },
    upstream: { ip: r.upstreamIp, port: r.upstreamPort },
    user: r.user,
    community_id: r.communityId,
    text: r.text,
    leaf_hash: r.leafHash.toString('hex'),
    ...(withCanonical ? { canonical: r.body } : {}),
    record: r.body === null ? null : (JSON.parse(r.body) as JsonObject),
  };
}

/** A field of a record by dotted path (`event.type`). */
export function recordField(record: JsonObject | null, path: string): unknown {
  let cur: unknown = record;
  for (const p of path.split('.')) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

/** True when a record says it was denied (`event.type` contains `denied`). */
export function isDenied(record: JsonObject | null): boolean {
  const type = recordField(record, 'event.type');
  return Array.isArray(type) && type.includes('denied');
}
