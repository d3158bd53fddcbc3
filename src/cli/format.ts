/** Output formats for records: a human table, NDJSON (the record itself), CSV. */
import type { EventRow } from '../store/index.js';
import { formatTimestampNs } from '../audit/clock.js';

export const FORMATS = ['table', 'ndjson', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

const CSV_COLUMNS = [
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
] as const;

function csvCell(v: string | number | null): string {
  if (v === null) return '';
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
  ];
  return cells.map(csvCell).join(',') + '\n';
}

export function ndjsonLine(r: EventRow): string {
  return (
    (r.body ??
      JSON.stringify({
        event: { sequence: r.sequence, id: r.id, action: r.action },
        pruned: true,
      })) + '\n'
  );
}

function endpoint(ip: string | null, port: number | null): string {
  if (ip === null) return '-';
  return ip.includes(':') ? `[${ip}]:${port ?? ''}` : `${ip}:${port ?? ''}`;
}

function detail(r: EventRow): string {
  if (r.text) return r.text.replace(/\s+/g, ' ').slice(0, 80);
  if (!r.body) return '(pruned)';
  try {
    const body = JSON.parse(r.body) as { event?: { reason?: string } };
    return body.event?.reason ?? '';
  } catch {
    return '';
  }
}

export function tableHeader(): string {
  return (
    [
      'SEQ',
      'TIME (UTC)',
      'ACTION',
      'OUTCOME',
      'LISTENER',
      'SOURCE',
      'UPSTREAM LOCAL',
      'USER',
      'DETAIL',
    ]
      .map((h, i) => h.padEnd(WIDTHS[i] ?? 0))
      .join(' ')
      .trimEnd() + '\n'
  );
}

const WIDTHS = [7, 30, 17, 8, 14, 24, 24, 12, 0];

export function tableLine(r: EventRow): string {
  const cells = [
    String(r.sequence),
    formatTimestampNs(r.timestampNs),
    r.action,
    r.outcome ?? '-',
    r.listener ?? '-',
    endpoint(r.sourceIp, r.sourcePort),
    endpoint(r.upstreamLocalIp, r.upstreamLocalPort),
    r.user ?? '-',
    detail(r),
  ];
  return (
    cells
      .map((c, i) => c.padEnd(WIDTHS[i] ?? 0))
      .join(' ')
      .trimEnd() + '\n'
  );
}

export function formatRows(rows: readonly EventRow[], format: Format, header: boolean): string {
  let out = '';
  if (header && format === 'table') out += tableHeader();
  if (header && format === 'csv') out += csvHeader();
  for (const r of rows)
    out += format === 'ndjson' ? ndjsonLine(r) : format === 'csv' ? csvLine(r) : tableLine(r);
  return out;
}
