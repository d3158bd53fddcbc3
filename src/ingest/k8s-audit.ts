/**
 * Kubernetes API-server audit events (audit.k8s.io/v1 Event, one JSON object per line).
 * Only the last `sourceIPs` entry is the connection's own address (the others come from
 * headers such as X-Forwarded-For, which the client controls). Port-forward and exec are
 * `objectRef.subresource` `portforward` / `exec`; a port-forward's target ports are in the
 * request URI's `ports` query parameter. Request and response bodies (`requestObject`,
 * `responseObject`) are never copied: they can hold Secrets.
 */
import { isIP } from 'node:net';
import type { JsonObject, JsonValue } from '../audit/event.js';
import { compact, type Ingested, type LineParser, Malformed } from './ingested.js';

const MAX_LINE = 1 << 20;
const SUBRESOURCE_ACTIONS: Record<string, string> = {
  portforward: 'ingest-kubernetes-portforward',
  exec: 'ingest-kubernetes-exec',
  attach: 'ingest-kubernetes-attach',
  proxy: 'ingest-kubernetes-proxy',
};

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const strings = (v: unknown): string[] =>
  Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];

export class K8sAuditParser implements LineParser {
  line(text: string): readonly Ingested[] | Malformed {
    if (text.trim() === '') return [];
    if (text.length > MAX_LINE) return new Malformed('line longer than 1 MiB');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return new Malformed('not JSON');
    }
    const e = obj(parsed);
    if (e === undefined) return new Malformed('not a JSON object');
    if (e.kind !== 'Event' || !str(e.apiVersion)?.startsWith('audit.k8s.io/'))
      return new Malformed('not an audit.k8s.io Event');
    const auditId = str(e.auditID);
    const verb = str(e.verb);
    const uri = str(e.requestURI);
    if (auditId === undefined || verb === undefined || uri === undefined)
      return new Malformed('auditID, verb or requestURI missing');
    return [normalize(e, auditId, verb, uri)];
  }

  end(): readonly Ingested[] {
    return [];
  }
}

function normalize(e: Obj, auditId: string, verb: string, uri: string): Ingested {
  const ref = obj(e.objectRef) ?? {};
  const subresource = str(ref.subresource);
  const action =
    (subresource !== undefined ? SUBRESOURCE_ACTIONS[subresource] : undefined) ??
    'ingest-kubernetes';
  const sourceIps = strings(e.sourceIPs);
  const last = sourceIps[sourceIps.length - 1];
  const sourceIp = last !== undefined && isIP(last) !== 0 ? last : null;
  const code = obj(e.responseStatus)?.code;
  const status = typeof code === 'number' && Number.isInteger(code) ? code : undefined;
  const user = obj(e.user) ?? {};
  const imp = obj(e.impersonatedUser);
  const [path, query] = splitUri(uri);
  const ports = subresource === 'portforward' ? forwardedPorts(query) : [];
  const firstPort = ports[0] ?? null;
  const username = str(user.username);
  const category = subresource === 'exec' || subresource === 'attach' ? ['process'] : ['network'];
  const type =
    subresource === 'portforward' || subresource === 'exec' ? ['access', 'start'] : ['access'];
  const annotations = obj(e.annotations);
  const input = {
    event: {
      action: action as `ingest-${string}`,
      module: 'kubernetes',
      kind: 'event' as const,
      category,
      type,
      outcome:
        status === undefined
          ? ('unknown' as const)
          : status < 400
            ? ('success' as const)
            : ('failure' as const),
    },
    ...(sourceIp !== null ? { source: { ip: sourceIp } } : {}),
    ...(firstPort !== null ? { destination: { port: firstPort } } : {}),
    ...(username !== undefined ? { user: compact({ name: username, id: str(user.uid) }) } : {}),
    url: { original: uri, path },
    ...(str(e.userAgent) !== undefined ? { user_agent: { original: str(e.userAgent) ?? '' } } : {}),
    ...(status !== undefined ? { http: { response: { status_code: status } } } : {}),
    kubernetes: compact({
      namespace: str(ref.namespace),
      resource: str(ref.resource),
      subresource,
      name: str(ref.name),
      api_group: str(ref.apiGroup),
      ...(ports.length > 0 ? { ports } : {}),
      audit: compact({
        id: auditId,
        stage: str(e.stage),
        level: str(e.level),
        verb,
        source_ips: sourceIps,
        groups: strings(user.groups),
        impersonated_user: imp ? str(imp.username) : undefined,
        request_received: str(e.requestReceivedTimestamp),
        stage_timestamp: str(e.stageTimestamp),
        annotations: annotations ? stringMap(annotations) : undefined,
      }),
    }),
    ingest: compact({ format: 'k8s-audit', original_timestamp: str(e.requestReceivedTimestamp) }),
  };
  return {
    input,
    sourceIp,
    sourcePort: null,
    destinationIp: null,
    destinationPort: firstPort,
    communityId: null,
  };
}

function splitUri(uri: string): [string, string] {
  const q = uri.indexOf('?');
  return q < 0 ? [uri, ''] : [uri.slice(0, q), uri.slice(q + 1)];
}

/** `ports=5432&ports=8080` or `ports=5432,8080` (kubectl sends one parameter per port). */
function forwardedPorts(query: string): number[] {
  const out: number[] = [];
  for (const value of new URLSearchParams(query).getAll('ports')) {
    for (const part of value.split(',')) {
      const n = Number(part.split(':').pop());
      if (Number.isInteger(n) && n > 0 && n <= 65535) out.push(n);
    }
  }
  return out;
}

function stringMap(o: Obj): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) if (typeof v === 'string') out[k] = v as JsonValue;
  return out;
}
