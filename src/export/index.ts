/** Record exports in the formats SOC tools read: NDJSON, CSV, Zeek conn.log, OCSF. */
export { ndjsonLine } from './ndjson.js';
export { CSV_COLUMNS, csvHeader, csvLine } from './csv.js';
export { ZEEK_FIELDS, connState, zeekEscape, zeekFooter, zeekHeader, zeekLine } from './zeek.js';
export { OCSF_VERSION, ocsfEvent, ocsfLine } from './ocsf.js';
export { EXPORT_FORMATS, RecordWriter } from './writer.js';
export type { ExportFormat, RecordWriterOptions } from './writer.js';
