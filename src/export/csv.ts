/** CSV of the indexed columns of each record (RFC 4180 quoting, formula-safe cells). */
import { formatTimestampNs } from '../audit/clock.js';
import type { EventRow } from '../store/index.js';

export const CSV_COLUMNS = [
  'sequence',
  'timestamp',
  'action',
  'outcome',
  'listener',
  'connection',
  'source_ip',
  'source_port',
  'destination_ip',
  'destination_port',
  'upstream_local_ip',
  'upstream_local_port',
  'upstream_ip',
  'upstream_port',
  'user',
  'community_id',
  'text',
  'upstream_community_id',
  'rule',
  'policy_version',
  'db',
  'operation',
  'class',
  'status',
  'node',
] as const;

function csvCell(v: string | number | null | undefined): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  // Cells starting with = + - @ are neutralized so spreadsheets do not run them as formulas.
  const safe = /^[=+\-@]/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',') + '\n';
}

export function csvLine(r: EventRow): string {
  const cells = [
    r.sequence,
    formatTimestampNs(r.timestampNs),
    r.action,
    r.outcome,
    r.listener,
    r.connectionId,
    r.sourceIp,
    r.sourcePort,
    r.destinationIp,
    r.destinationPort,
    r.upstreamLocalIp,
    r.upstreamLocalPort,
    r.upstreamIp,
    r.upstreamPort,
    r.user,
    r.communityId,
    r.text,
    r.upstreamCommunityId,
    r.rule,
    r.policyVersion,
    r.dbNamespace,
    r.operation,
    r.statementClass,
    r.status,
    r.node,
  ];
  return cells.map(csvCell).join(',') + '\n';
}
