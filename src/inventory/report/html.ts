/**
 * The report as one self-contained HTML page: inline CSS and SVG, no script, no external
 * asset — it opens offline and can be mailed or archived as is.
 */
import type { ReportData } from './data.js';
import { escapeHtml as e, groupedBars, horizontalBars } from './svg.js';

const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px auto;max-width:1100px;color:#1d2430;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d8dde6;padding-bottom:4px}
.meta{color:#5b6576}.cards{display:flex;flex-wrap:wrap;gap:10px;margin:16px 0}
.card{border:1px solid #d8dde6;border-radius:6px;padding:8px 14px;min-width:110px}
.card b{display:block;font-size:22px}.card span{color:#5b6576;font-size:12px}
table{border-collapse:collapse;width:100%;margin:6px 0}th,td{border:1px solid #e1e5ec;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f3f5f9;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#176b2c;font-weight:600}.bad{color:#b3261e;font-weight:600}.warn{color:#8a5a00;font-weight:600}
.sev-critical,.sev-high{color:#b3261e}.sev-medium{color:#8a5a00}.sev-low{color:#5b6576}
svg .t{font-size:13px;font-weight:600;fill:#1d2430}svg .a{font-size:11px;fill:#5b6576}svg .g{stroke:#eceff4}
.empty{color:#5b6576;font-style:italic}`;

function table(
  head: readonly string[],
  rows: readonly (readonly string[])[],
  numeric: readonly number[] = [],
): string {
  if (rows.length === 0) return '<p class="empty">none in this period</p>';
  const th = head.map((h) => `<th>${e(h)}</th>`).join('');
  const body = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="n"' : ''}>${c}</td>`).join('')}</tr>`,
    )
    .join('');
  return `<table><thead><tr>${th}</tr></thead><tbody>${body}</tbody></table>`;
}

function card(value: number | string, label: string): string {
  return `<div class="card"><b>${e(String(value))}</b><span>${e(label)}</span></div>`;
}

/** Heat shading for a matrix cell: the more connections, the darker. */
function shade(n: number, max: number): string {
  if (n === 0) return '';
  const alpha = 0.12 + 0.6 * (n / Math.max(1, max));
  return ` style="background:rgba(41,98,255,${alpha.toFixed(2)})"`;
}

export function renderReportHtml(r: ReportData): string {
  const integrityClass =
    r.integrity.status === 'ok' ? 'ok' : r.integrity.status === 'tampered' ? 'bad' : 'warn';
  const integrityText =
    r.integrity.status === 'ok'
      ? 'verified'
      : r.integrity.status === 'tampered'
        ? 'TAMPERED'
        : 'not checked';
  const max = Math.max(1, ...r.access.rows.flatMap((row) => Object.values(row.counts)));
  const matrix =
    r.access.rows.length === 0
      ? '<p class="empty">no connections in this period</p>'
      : `<table><thead><tr><th>who</th>${r.access.listeners.map((l) => `<th>${e(l)}</th>`).join('')}<th>total</th></tr></thead><tbody>${r.access.rows
          .map(
            (row) =>
              `<tr><td>${e(row.who)}</td>${r.access.listeners
                .map((l) => {
                  const n = row.counts[l] ?? 0;
                  return `<td class="n"${shade(n, max)}>${n === 0 ? '' : n}</td>`;
                })
                .join('')}<td class="n">${row.total}</td></tr>`,
          )
          .join('')}</tbody></table>`;
  const daily = groupedBars(
    r.daily.map((d) => d.day),
    [
      { name: 'connections', color: '#2962ff', values: r.daily.map((d) => d.connections) },
      { name: 'denied / failed logins', color: '#e8710a', values: r.daily.map((d) => d.denied) },
      { name: 'anomalies', color: '#b3261e', values: r.daily.map((d) => d.anomalies) },
    ],
    'Activity per day (UTC)',
  );
  const detectors = horizontalBars(
    Object.entries(r.anomalies_by_detector)
      .sort((a, b) => b[1] - a[1])
      .map(([label, value]) => ({ label, value })),
    'Anomalies by detector',
    '#b3261e',
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>portwarden audit report ${e(r.since.slice(0, 10))} – ${e(r.until.slice(0, 10))}</title>
<style>${CSS}</style></head><body>
<h1>portwarden audit report</h1>
<p class="meta">node ${e(r.node ?? '-')} · ${e(r.since)} to ${e(r.until)} · generated ${e(r.generated_at)}</p>
<p>Integrity: <span class="${integrityClass}">${integrityText}</span> — ${e(r.integrity.detail)}</p>
<div class="cards">${card(r.totals.records, 'records')}${card(r.totals.connections, 'connections')}${card(r.totals.denied, 'denied')}${card(r.totals.failed_logins, 'failed logins')}${card(r.totals.anomalies, 'anomalies')}${card(r.findings.length, 'drift findings (latest audit)')}${card(r.totals.policy_changes, 'policy changes')}</div>
${daily}
<h2>Access matrix — who connected to which listener</h2>
${matrix}
<h2>Denied attempts</h2>
${table(
  ['kind', 'listener', 'source', 'user', 'count'],
  r.denied.map((d) => [e(d.kind), e(d.listener), e(d.source), e(d.user), String(d.count)]),
  [4],
)}
<h2>Anomalies</h2>
${detectors}
${table(
  ['time', 'detector', 'severity', 'source', 'listener', 'reason'],
  r.anomalies.map((a) => [
    e(a.time.slice(0, 19).replace('T', ' ')),
    e(a.detector),
    `<span class="sev-${e(a.severity)}">${e(a.severity)}</span>`,
    e(a.source ?? '-'),
    e(a.listener ?? '-'),
    e(a.reason),
  ]),
)}
<h2>Drift findings (latest audit)</h2>
${table(
  ['time', 'finding', 'severity', 'port', 'listener', 'detail'],
  r.findings.map((f) => [
    e(f.time.slice(0, 19).replace('T', ' ')),
    e(f.kind),
    `<span class="sev-${e(f.severity)}">${e(f.severity)}</span>`,
    f.port === null ? '-' : String(f.port),
    e(f.listener ?? '-'),
    e(f.detail),
  ]),
  [3],
)}
<h2>Policy changes</h2>
${table(
  ['time', 'outcome', 'trigger', 'summary'],
  r.policy_changes.map((p) => [
    e(p.time.slice(0, 19).replace('T', ' ')),
    e(p.outcome),
    e(p.trigger),
    e(p.message),
  ]),
)}
</body></html>
`;
}
