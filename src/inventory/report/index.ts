/** The periodic audit report: data (report.json) and a self-contained HTML page. */
export { buildReport, type IntegrityStatus, type ReportData, type ReportOptions } from './data.js';
export { renderReportHtml } from './html.js';
export { checkIntegrity } from './integrity.js';
export { writeReportFiles } from './write.js';
