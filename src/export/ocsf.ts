/**
 * OCSF 1.4.0 events, one JSON object per record:
 * - connection-open / connection-close → Network Activity (class 4001, category 4);
 * - db-* and redis-* → Datastore Activity (class 6005, category 6);
 * - http-* → API Activity (class 6003, category 6);
 * - anything else (checkpoint, policy-reload, anomaly-…) → Base Event (class 0).
 * `type_uid` is class_uid × 100 + activity_id; `metadata.version` states the schema version.
 * The portwarden record's own identity (sequence, action, reason) is kept under `unmapped`.
 */
import type { EventRow } from '../store/index.js';
import { type Body, bodyOf, numberAt, stringAt, valueAt } from './body.js';

export const OCSF_VERSION = '1.4.0';

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type JsonObj = { [key: string]: Json };

const NETWORK_ACTIVITY = 4001;
const DATASTORE_ACTIVITY = 6005;
const API_ACTIVITY = 6003;

function endpoint(ip: string | null, port: number | null): JsonObj | null {
  if (ip === null) return null;
  return port === null ? { ip } : { ip, port };
}

function compact(o: { [key: string]: Json | undefined }): JsonObj {
  const out: JsonObj = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined && v !== null) out[k] = v;
  return out;
}

/** Network Activity activity_id: 1 Open, 2 Close, 3 Reset, 4 Fail, 5 Refuse. */
function networkActivity(r: EventRow, body: Body | null): { id: number; name: string } {
  const reason = stringAt(body, 'event', 'reason');
  if (r.action === 'connection-open') {
    if (r.outcome !== 'failure') return { id: 1, name: 'Open' };
    if (reason === 'policy' || reason === 'limit') return { id: 5, name: 'Refuse' };
    return { id: 4, name: 'Fail' };
  }
  if (reason === 'reset') return { id: 3, name: 'Reset' };
  return { id: 2, name: 'Close' };
}

/** Datastore Activity activity_id from the operation (1 Read … 7 Delete, 3 Connect, 99 Other). */
function datastoreActivity(r: EventRow, body: Body | null): { id: number; name: string } {
  if (r.action === 'db-login') return { id: 3, name: 'Connect' };
  if (r.action !== 'db-query' && r.action !== 'redis-command') return { id: 99, name: 'Other' };
  const op = (r.operation ?? '').toUpperCase();
  const cls = r.statementClass ?? '';
  if (r.action === 'redis-command') {
    const cats = valueAt(body, 'redis', 'acl_categories');
    const list = Array.isArray(cats) ? cats.filter((c): c is string => typeof c === 'string') : [];
    if (op === 'DEL' || op === 'UNLINK') return { id: 7, name: 'Delete' };
    if (list.includes('write')) return { id: 5, name: 'Write' };
    if (list.includes('read')) return { id: 1, name: 'Read' };
    return { id: 99, name: 'Other' };
  }
  if (op === 'SELECT' || cls === 'read') return { id: 4, name: 'Query' };
  if (op === 'INSERT' || op.startsWith('CREATE')) return { id: 6, name: 'Create' };
  if (op === 'UPDATE') return { id: 2, name: 'Update' };
  if (op === 'DELETE' || op.startsWith('DROP') || op === 'TRUNCATE')
    return { id: 7, name: 'Delete' };
  if (cls === 'write') return { id: 5, name: 'Write' };
  return { id: 99, name: 'Other' };
}

/** API Activity activity_id from the HTTP method: 1 Create, 2 Read, 3 Update, 4 Delete. */
function apiActivity(method: string | null): { id: number; name: string } {
  switch ((method ?? '').toUpperCase()) {
    case 'POST':
      return { id: 1, name: 'Create' };
    case 'GET':
    case 'HEAD':
      return { id: 2, name: 'Read' };
    case 'PUT':
    case 'PATCH':
      return { id: 3, name: 'Update' };
    case 'DELETE':
      return { id: 4, name: 'Delete' };
    default:
      return { id: 99, name: 'Other' };
  }
}

function databaseType(system: string | null): { type: string; type_id: number } {
  if (system === 'redis') return { type: 'NoSQL', type_id: 6 };
  if (system === 'postgresql' || system === 'mysql' || system === 'mariadb')
    return { type: 'Relational', type_id: 1 };
  return { type: 'Other', type_id: 99 };
}

/** The OCSF event for one record. */
export function ocsfEvent(r: EventRow, product: { version: string }): JsonObj {
  const body = bodyOf(r);
  const kind = stringAt(body, 'event', 'kind');
  const src = endpoint(r.sourceIp, r.sourcePort);
  const dst = endpoint(r.destinationIp, r.destinationPort);
  const actor = compact({
    user: r.user === null ? undefined : { name: r.user },
    session: r.connectionId === null ? undefined : { uid: r.connectionId },
  });
  const durationNs = numberAt(body, 'event', 'duration');
  const common = {
    time: Number(r.timestampNs / 1_000_000n),
    severity_id: kind === 'alert' ? 3 : 1,
    severity: kind === 'alert' ? 'Medium' : 'Informational',
    status_id: r.outcome === 'success' ? 1 : r.outcome === 'failure' ? 2 : 0,
    status: r.outcome === 'success' ? 'Success' : r.outcome === 'failure' ? 'Failure' : 'Unknown',
    status_code: r.status ?? undefined,
    message: stringAt(body, 'error', 'message') ?? undefined,
    duration: durationNs === null ? undefined : Math.round(durationNs / 1e6),
    metadata: compact({
      version: OCSF_VERSION,
      product: { name: 'portwarden', vendor_name: 'portwarden', version: product.version },
      uid: r.id,
      correlation_uid: r.connectionId ?? undefined,
      log_name: r.listener ?? undefined,
    }),
    unmapped: compact({
      sequence: r.sequence,
      action: r.action,
      reason: stringAt(body, 'event', 'reason') ?? undefined,
      reference: stringAt(body, 'event', 'reference') ?? undefined,
      rule: r.rule ?? undefined,
      policy_version: r.policyVersion ?? undefined,
      node: r.node ?? undefined,
      pruned: r.body === null ? true : undefined,
    }),
  };
  const classed = (
    classUid: number,
    className: string,
    categoryUid: number,
    categoryName: string,
    activity: { id: number; name: string },
    rest: { [key: string]: Json | undefined },
  ): JsonObj =>
    compact({
      class_uid: classUid,
      class_name: className,
      category_uid: categoryUid,
      category_name: categoryName,
      activity_id: activity.id,
      activity_name: activity.name,
      type_uid: classUid * 100 + activity.id,
      ...common,
      ...rest,
    });

  if (r.action === 'connection-open' || r.action === 'connection-close') {
    const upstream = compact({
      local: endpoint(r.upstreamLocalIp, r.upstreamLocalPort) ?? undefined,
      target: endpoint(r.upstreamIp, r.upstreamPort) ?? undefined,
      community_id: r.upstreamCommunityId ?? undefined,
    });
    const bytesIn = numberAt(body, 'source', 'bytes');
    const bytesOut = numberAt(body, 'destination', 'bytes');
    return classed(
      NETWORK_ACTIVITY,
      'Network Activity',
      4,
      'Network Activity',
      networkActivity(r, body),
      {
        src_endpoint: src ?? undefined,
        dst_endpoint: dst ?? undefined,
        actor: Object.keys(actor).length > 0 ? actor : undefined,
        connection_info: compact({
          uid: r.connectionId ?? undefined,
          protocol_name: 'tcp',
          protocol_num: 6,
          direction_id: 1,
          direction: 'Inbound',
          community_uid: r.communityId ?? undefined,
        }),
        traffic:
          bytesIn === null && bytesOut === null
            ? undefined
            : compact({
                bytes_in: bytesIn ?? undefined,
                bytes_out: bytesOut ?? undefined,
                bytes: (bytesIn ?? 0) + (bytesOut ?? 0),
              }),
        unmapped: { ...common.unmapped, ...(Object.keys(upstream).length ? { upstream } : {}) },
      },
    );
  }
  if (r.action.startsWith('db-') || r.action.startsWith('redis-')) {
    const system =
      stringAt(body, 'db', 'system') ?? (r.action.startsWith('redis-') ? 'redis' : null);
    const text = r.text ?? undefined;
    return classed(
      DATASTORE_ACTIVITY,
      'Datastore Activity',
      6,
      'Application Activity',
      datastoreActivity(r, body),
      {
        actor: actor,
        src_endpoint: src ?? {},
        dst_endpoint: dst ?? undefined,
        database: compact({
          name: r.dbNamespace ?? r.listener ?? system ?? 'unknown',
          ...databaseType(system),
        }),
        query_info:
          text === undefined || r.action === 'redis-command'
            ? undefined
            : compact({ query_string: text }),
        type_id: 1,
        type: 'Database',
      },
    );
  }
  if (r.action.startsWith('http-')) {
    const method = stringAt(body, 'http', 'request', 'method') ?? r.operation ?? null;
    const path = stringAt(body, 'url', 'path');
    const code = numberAt(body, 'http', 'response', 'status_code');
    return classed(API_ACTIVITY, 'API Activity', 6, 'Application Activity', apiActivity(method), {
      actor: actor,
      src_endpoint: src ?? {},
      dst_endpoint: dst ?? undefined,
      api: compact({ operation: method ?? r.action, request: { uid: r.id } }),
      http_request:
        method === null && path === null
          ? undefined
          : compact({
              http_method: method ?? undefined,
              url:
                path === null
                  ? undefined
                  : compact({ path, hostname: stringAt(body, 'url', 'domain') ?? undefined }),
              user_agent: stringAt(body, 'user_agent', 'original') ?? undefined,
            }),
      http_response: code === null ? undefined : { code },
    });
  }
  return classed(0, 'Base Event', 0, 'Uncategorized', { id: 99, name: 'Other' }, {});
}

export function ocsfLine(r: EventRow, product: { version: string }): string {
  return `${JSON.stringify(ocsfEvent(r, product))}\n`;
}
