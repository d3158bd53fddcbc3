/**
 * One record as the central store keeps it: its node, sequence and leaf, the body, and
 * the filter columns derived from the body (the same fields the embedded store indexes;
 * the derived ones by the embedded store's own deriveColumns). The collector derives them
 * here because a shipped record is only (node, seq, body, leaf).
 */
import { parseTimestampNs } from '../audit/clock.js';
import { type DerivedColumns, deriveColumns } from '../store/index.js';

export interface CentralRow {
  readonly node: string;
  readonly sequence: number;
  readonly timestampNs: bigint;
  readonly id: string | null;
  readonly action: string | null;
  readonly outcome: string | null;
  readonly listener: string | null;
  readonly connectionId: string | null;
  readonly sourceIp: string | null;
  readonly sourcePort: number | null;
  readonly destinationIp: string | null;
  readonly destinationPort: number | null;
  readonly upstreamLocalIp: string | null;
  readonly upstreamLocalPort: number | null;
  readonly upstreamIp: string | null;
  readonly upstreamPort: number | null;
  readonly user: string | null;
  readonly communityId: string | null;
  readonly upstreamCommunityId: string | null;
  readonly rule: string | null;
  readonly policyVersion: string | null;
  readonly dbNamespace: string | null;
  readonly operation: string | null;
  readonly statementClass: string | null;
  readonly status: string | null;
  readonly module: string | null;
  readonly text: string | null;
  readonly body: string | null;
  readonly leafHash: Buffer;
}

type Obj = Record<string, unknown>;

const NOTHING_DERIVED: DerivedColumns = {
  upstreamCommunityId: null,
  rule: null,
  policyVersion: null,
  dbNamespace: null,
  operation: null,
  statementClass: null,
  status: null,
  node: null,
};

function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function at(root: Obj | undefined, ...path: string[]): unknown {
  let cur: unknown = root;
  for (const p of path) cur = obj(cur)?.[p];
  return cur;
}

function str(v: unknown): string | null {
  return typeof v === 'string' ? v : null;
}

function port(v: unknown): number | null {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 65535 ? v : null;
}

/** The parsed body, or undefined when it is not a JSON object. */
export function parseBody(body: string): Obj | undefined {
  try {
    return obj(JSON.parse(body));
  } catch {
    return undefined;
  }
}

/**
 * The central row of a record. `parsed` is the body already parsed (or undefined for a
 * pruned body, when only `timestampNs` and the leaf are known).
 */
export function centralRow(args: {
  readonly node: string;
  readonly sequence: number;
  readonly timestampNs: bigint;
  readonly body: string | null;
  readonly parsed: Obj | undefined;
  readonly leafHash: Buffer;
}): CentralRow {
  const b = args.parsed;
  const ts = str(at(b, '@timestamp'));
  // The embedded store's own derivation, so that a filter finds the same records here.
  const d = b === undefined ? NOTHING_DERIVED : deriveColumns(b);
  const redisCommand = str(at(b, 'redis', 'command'));
  const redisKey = str(at(b, 'redis', 'key'));
  const text =
    str(at(b, 'db', 'query', 'text')) ??
    (redisCommand !== null
      ? redisKey !== null
        ? `${redisCommand} ${redisKey}`
        : redisCommand
      : null) ??
    str(at(b, 'url', 'path'));
  return {
    node: args.node,
    sequence: args.sequence,
    timestampNs: (ts !== null ? parseTimestampNs(ts) : null) ?? args.timestampNs,
    id: str(at(b, 'event', 'id')),
    action: str(at(b, 'event', 'action')),
    outcome: str(at(b, 'event', 'outcome')),
    listener: str(at(b, 'listener', 'name')),
    connectionId: str(at(b, 'connection', 'id')),
    sourceIp: str(at(b, 'source', 'ip')),
    sourcePort: port(at(b, 'source', 'port')),
    destinationIp: str(at(b, 'destination', 'ip')),
    destinationPort: port(at(b, 'destination', 'port')),
    upstreamLocalIp: str(at(b, 'upstream', 'local', 'ip')),
    upstreamLocalPort: port(at(b, 'upstream', 'local', 'port')),
    upstreamIp: str(at(b, 'upstream', 'ip')),
    upstreamPort: port(at(b, 'upstream', 'port')),
    user: str(at(b, 'user', 'name')),
    communityId: str(at(b, 'network', 'community_id')),
    upstreamCommunityId: d.upstreamCommunityId,
    rule: d.rule,
    policyVersion: d.policyVersion,
    dbNamespace: d.dbNamespace,
    operation: d.operation,
    statementClass: d.statementClass,
    status: d.status,
    module: str(at(b, 'event', 'module')),
    text,
    body: args.body,
    leafHash: args.leafHash,
  };
}
