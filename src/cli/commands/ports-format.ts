/** The output of `portwarden ports scan|drift`: a table or NDJSON. */
// inventory/drift.js, not the inventory index: the index loads the audit scheduler (croner, zod).
import { formatEndpoint } from '../../inventory/drift.js';
import type { DriftFinding, ListeningSocket } from '../../inventory/index.js';
import { usage } from '../io.js';

export type PortsFormat = 'table' | 'ndjson';

export function parseFormat(text: string): PortsFormat {
  if (text !== 'table' && text !== 'ndjson')
    throw usage(`--format is table or ndjson, got "${text}"`);
  return text;
}

function pad(cells: readonly string[], widths: readonly number[]): string {
  return (
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join(' ')
      .trimEnd() + '\n'
  );
}

const SCAN_WIDTHS = [5, 42, 8, 10, 0];

export function formatSockets(sockets: readonly ListeningSocket[], format: PortsFormat): string {
  if (format === 'ndjson') return sockets.map((s) => `${JSON.stringify(s)}\n`).join('');
  let out = pad(['PROTO', 'ADDRESS', 'PID', 'USER', 'PROCESS'], SCAN_WIDTHS);
  for (const s of sockets) {
    const p = s.processes[0];
    out += pad(
      [
        s.family,
        formatEndpoint(s.ip, s.port),
        p === undefined ? '-' : String(p.pid),
        p?.user ?? String(s.uid),
        p === undefined
          ? '(not visible)'
          : (p.exe ?? p.comm ?? '?') +
            (s.processes.length > 1 ? ` (+${s.processes.length - 1})` : ''),
      ],
      SCAN_WIDTHS,
    );
  }
  return out;
}

const DRIFT_WIDTHS = [26, 7, 7, 0];

export function formatFindings(findings: readonly DriftFinding[], format: PortsFormat): string {
  if (format === 'ndjson') return findings.map((f) => `${JSON.stringify(f)}\n`).join('');
  if (findings.length === 0)
    return 'no drift: every listening port is declared and every target is as declared\n';
  let out = pad(['FINDING', 'SEV', 'PORT', 'DETAIL'], DRIFT_WIDTHS);
  for (const f of findings)
    out += pad(
      [f.kind, f.severity, f.port === null ? '-' : String(f.port), f.detail],
      DRIFT_WIDTHS,
    );
  return out;
}
