/** External logs into the event shape (DESIGN §11): Kubernetes audit, auditd, conntrack. */
export { K8sAuditParser } from './k8s-audit.js';
export { AuditdParser, decodeSaddr } from './auditd.js';
export { ConntrackParser } from './conntrack.js';
export { Malformed, ingestedContext } from './ingested.js';
export type { Ingested, LineParser } from './ingested.js';
export { emptyReport, endInput, ingestLine, ingestLines, parserFor } from './append.js';
export type { IngestReport } from './append.js';
export { INGEST_FORMATS, sourcesSchema } from './schema.js';
export type { IngestFormat, SourceConfig } from './schema.js';
export { FileTailer, OFFSETS_FILE, startSources } from './tail-files.js';
