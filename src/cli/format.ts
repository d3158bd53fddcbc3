/**
 * Output formats for records: a human table here; NDJSON, CSV, Zeek conn.log and OCSF
 * come from src/export.
 */
import { formatTimestampNs } from '../audit/clock.js';
import { EXPORT_FORMATS, RecordWriter, type RecordWriterOptions } from '../export/index.js';
import type { EventRow, Store } from '../store/index.js';

export const FORMATS = ['table', ...EXPORT_FORMATS] as const;
export type Format = (typeof FORMATS)[number];

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

/** A writer for any format: the table, or an export format. */
export interface RowWriter {
  header(): string;
  rows(rows: readonly EventRow[]): string;
  footer(): string;
}

export function rowWriter(
  format: Format,
  store: Pick<Store, 'connectionEnds'>,
  opts: RecordWriterOptions = {},
): RowWriter {
  if (format !== 'table') return new RecordWriter(format, store, opts);
  return {
    header: tableHeader,
    rows: (rows) => rows.map(tableLine).join(''),
    footer: () => '',
  };
}
