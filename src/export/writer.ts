/**
 * Streams records out in one export format across keyset pages: the header once, each
 * page's lines, the footer at the end. Zeek lines are per connection, so the writer looks
 * up each connection's open and close records the first time it meets the connection.
 */
import type { EventRow, Store } from '../store/index.js';
import { csvHeader, csvLine } from './csv.js';
import { ndjsonLine } from './ndjson.js';
import { ocsfLine } from './ocsf.js';
import { zeekFooter, zeekHeader, zeekLine } from './zeek.js';

export const EXPORT_FORMATS = ['ndjson', 'csv', 'zeek', 'ocsf'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export interface RecordWriterOptions {
  /** Live tail: a Zeek line is written when its connection ends, not when first seen. */
  readonly live?: boolean;
  /** portwarden's version for OCSF `metadata.product.version`. */
  readonly productVersion?: string;
}

export class RecordWriter {
  private readonly format: ExportFormat;
  private readonly store: Pick<Store, 'connectionEnds'>;
  private readonly opts: RecordWriterOptions;
  private readonly seen = new Set<string>();

  constructor(
    format: ExportFormat,
    store: Pick<Store, 'connectionEnds'>,
    opts: RecordWriterOptions = {},
  ) {
    this.format = format;
    this.store = store;
    this.opts = opts;
  }

  header(): string {
    if (this.format === 'csv') return csvHeader();
    if (this.format === 'zeek') return zeekHeader();
    return '';
  }

  rows(rows: readonly EventRow[]): string {
    let out = '';
    for (const r of rows) out += this.row(r);
    return out;
  }

  private row(r: EventRow): string {
    switch (this.format) {
      case 'ndjson':
        return ndjsonLine(r);
      case 'csv':
        return csvLine(r);
      case 'ocsf':
        return ocsfLine(r, { version: this.opts.productVersion ?? '0.1.0' });
      case 'zeek':
        return this.zeekRow(r);
      default: {
        const never: never = this.format;
        return never;
      }
    }
  }

  private zeekRow(r: EventRow): string {
    const id = r.connectionId;
    if (id === null || this.seen.has(id)) return '';
    const ended =
      r.action === 'connection-close' ||
      (r.action === 'connection-open' && r.outcome === 'failure');
    if (this.opts.live && !ended) return '';
    this.seen.add(id);
    if (this.seen.size > 100_000) this.seen.clear();
    const ends = this.store.connectionEnds(id);
    return zeekLine(ends.open, ends.close) ?? '';
  }

  footer(): string {
    return this.format === 'zeek' ? zeekFooter() : '';
  }
}
