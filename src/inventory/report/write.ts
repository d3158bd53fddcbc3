/** Write a report as `<name>.html` and `<name>.json` side by side. */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { ReportData } from './data.js';
import { renderReportHtml } from './html.js';

/** `out` names the HTML file (or the JSON file); both are written. Returns both paths. */
export function writeReportFiles(data: ReportData, out: string): { html: string; json: string } {
  const base = out.replace(/\.(html?|json)$/i, '');
  const html = `${base}.html`;
  const json = `${base}.json`;
  mkdirSync(dirname(html), { recursive: true });
  writeFileSync(html, renderReportHtml(data), { mode: 0o640 });
  writeFileSync(json, `${JSON.stringify(data, null, 2)}\n`, { mode: 0o640 });
  return { html, json };
}
