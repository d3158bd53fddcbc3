/**
 * The EventFilter evaluated in memory against a committed row — the live tail's half of the
 * shared filter model (the store compiles the same filter to SQL). Rows handed over at
 * commit lack the columns the store derives from the body, so those filters read the body
 * (parsed once, only when such a filter is set). Text is matched by the store's own rule
 * (store/text-query.ts). Cursor and limit do not apply to a stream.
 */
import { type EventFilter, type EventRow, textMatches } from '../store/index.js';
import { recordField } from './records.js';

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : null;
}

export function matchesFilter(f: EventFilter, r: EventRow): boolean {
  if (f.listener !== undefined && r.listener !== f.listener) return false;
  if (f.actions !== undefined && f.actions.length > 0 && !f.actions.includes(r.action))
    return false;
  if (f.sourceIp !== undefined && r.sourceIp !== f.sourceIp) return false;
  if (f.sourcePort !== undefined && r.sourcePort !== f.sourcePort) return false;
  if (f.upstreamLocalIp !== undefined && r.upstreamLocalIp !== f.upstreamLocalIp) return false;
  if (f.upstreamLocalPort !== undefined && r.upstreamLocalPort !== f.upstreamLocalPort)
    return false;
  if (
    f.port !== undefined &&
    r.sourcePort !== f.port &&
    r.destinationPort !== f.port &&
    r.upstreamLocalPort !== f.port &&
    r.upstreamPort !== f.port
  )
    return false;
  if (f.user !== undefined && r.user !== f.user) return false;
  if (f.outcome !== undefined && r.outcome !== f.outcome) return false;
  if (f.sinceNs !== undefined && r.timestampNs < f.sinceNs) return false;
  if (f.untilNs !== undefined && r.timestampNs >= f.untilNs) return false;
  if (f.text !== undefined && f.text !== '' && !textMatches(f.text, r.text)) return false;
  if (f.connectionId !== undefined && r.connectionId !== f.connectionId) return false;
  const derived =
    f.communityId !== undefined ||
    f.rule !== undefined ||
    f.policyVersion !== undefined ||
    f.db !== undefined ||
    f.operation !== undefined ||
    f.statementClass !== undefined ||
    f.status !== undefined ||
    f.node !== undefined;
  if (!derived) return true;
  if (r.body === null) return false;
  const body = JSON.parse(r.body) as Parameters<typeof recordField>[0];
  const at = (path: string): string | null => str(recordField(body, path));
  if (
    f.communityId !== undefined &&
    r.communityId !== f.communityId &&
    at('upstream.community_id') !== f.communityId
  )
    return false;
  if (f.rule !== undefined && at('rule.id') !== f.rule) return false;
  if (f.policyVersion !== undefined && at('policy.version') !== f.policyVersion) return false;
  if (f.db !== undefined && at('db.namespace') !== f.db) return false;
  if (f.operation !== undefined) {
    const op = at('db.operation') ?? at('redis.command') ?? at('http.request.method');
    if (op?.toUpperCase() !== f.operation.toUpperCase()) return false;
  }
  if (f.statementClass !== undefined && at('db.query.class') !== f.statementClass) return false;
  if (f.status !== undefined) {
    const status =
      at('db.response.status_code') ??
      at('http.response.status_code') ??
      at('redis.reply.error.code');
    if (status !== f.status) return false;
  }
  if (f.node !== undefined && at('observer.id') !== f.node) return false;
  return true;
}
