/**
 * The per-connection part of every record: listener, connection id, the two legs' four
 * endpoints and both Community IDs (DESIGN §3). Built once per connection (and again when
 * identity changes); the recorder merges it into each record.
 */
import type { JsonObject } from '../audit/event.js';
import { deepFreeze } from '../audit/canonical.js';
import type { RecordContext } from '../audit/recorder.js';
import { communityId } from './community-id.js';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

export interface TupleInput {
  readonly listener: string;
  readonly protocol: string;
  readonly ecsProtocol: string;
  readonly connectionId: string;
  readonly source: Endpoint;
  readonly destination: Endpoint;
  /** The gateway's own address toward the target; null before the upstream connected. */
  readonly upstreamLocal: Endpoint | null;
  readonly upstream: Endpoint;
  /** The direct peer when a trusted PROXY header named another client. */
  readonly forwarded: Endpoint | null;
  readonly policyVersion: string | null | undefined;
  readonly user: string | null;
}

export function tupleEndpoint(ip: string, port: number): JsonObject {
  return { ip, port };
}

function safeCommunityId(a: Endpoint, b: Endpoint): string | null {
  try {
    return communityId({ saddr: a.ip, daddr: b.ip, sport: a.port, dport: b.port });
  } catch {
    return null;
  }
}

export function buildTupleContext(t: TupleInput): RecordContext {
  const clientCommunity = safeCommunityId(t.source, t.destination);
  const upstream: JsonObject = { ip: t.upstream.ip, port: t.upstream.port };
  if (t.upstreamLocal) {
    upstream.local = tupleEndpoint(t.upstreamLocal.ip, t.upstreamLocal.port);
    const upCommunity = safeCommunityId(t.upstreamLocal, t.upstream);
    if (upCommunity) upstream.community_id = upCommunity;
  }
  const network: JsonObject = { transport: 'tcp', protocol: t.ecsProtocol };
  if (clientCommunity) network.community_id = clientCommunity;
  if (t.forwarded) network.forwarded = tupleEndpoint(t.forwarded.ip, t.forwarded.port);
  const fields: JsonObject = {
    listener: { name: t.listener, protocol: t.protocol },
    connection: { id: t.connectionId },
    source: tupleEndpoint(t.source.ip, t.source.port),
    destination: tupleEndpoint(t.destination.ip, t.destination.port),
    upstream,
    network,
  };
  if (t.policyVersion) fields.policy = { version: t.policyVersion };
  // The record names the user its `user` column holds (the store reads columns from it).
  if (t.user !== null) fields.user = { name: t.user };
  // Frozen: each part is the same on every record of the connection, so its canonical
  // text is computed once (audit/canonical.ts).
  for (const part of Object.values(fields)) deepFreeze(part);
  return {
    fields,
    listener: t.listener,
    connectionId: t.connectionId,
    sourceIp: t.source.ip,
    sourcePort: t.source.port,
    destinationIp: t.destination.ip,
    destinationPort: t.destination.port,
    upstreamLocalIp: t.upstreamLocal?.ip ?? null,
    upstreamLocalPort: t.upstreamLocal?.port ?? null,
    upstreamIp: t.upstream.ip,
    upstreamPort: t.upstream.port,
    communityId: clientCommunity,
    user: t.user,
  };
}

/** Merge top-level fields, one level deep for objects (`tls`, `session`). */
export function mergeFields(base: JsonObject, add: JsonObject): JsonObject {
  const out: JsonObject = { ...base };
  for (const [k, v] of Object.entries(add)) {
    const prev = out[k];
    if (
      prev &&
      v &&
      typeof prev === 'object' &&
      typeof v === 'object' &&
      !Array.isArray(prev) &&
      !Array.isArray(v)
    ) {
      out[k] = { ...prev, ...v };
    } else {
      out[k] = v;
    }
  }
  return out;
}
