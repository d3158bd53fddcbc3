/**
 * Turns measured figures into the markdown that `npm run bench` prints and writes into
 * docs/benchmarks.md. Only the part between the `bench:results` markers is replaced, so the
 * hand-written sections (profile notes, Search, Integrity) survive every run.
 */
import { cpus } from 'node:os';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** What the load went through: `direct`, `haproxy`, `pipe` or `portwarden <protocol> <mode>`. */
export type Via = string;

export interface Measurement {
  readonly load: string;
  readonly via: Via;
  readonly value: number;
  readonly unit: string;
}

export interface MemoryRow {
  readonly via: Via;
  readonly connections: number;
  readonly baselineRss: number;
  readonly rss: number;
}

function fmt(n: number): string {
  return n >= 100 ? Math.round(n).toLocaleString('en-US') : n.toFixed(1);
}

function ratio(value: number, base: number | undefined): string {
  return base === undefined || base === 0 ? '—' : `${(value / base).toFixed(2)}×`;
}

/** One table: per load, every relay with its rate and ratios to direct, HAProxy and pipe. */
export function throughputTable(rows: readonly Measurement[]): string {
  const out = [
    '| load | through | rate | vs direct | vs HAProxy | vs Node pipe |',
    '|---|---|---:|---:|---:|---:|',
  ];
  const loads = [...new Set(rows.map((r) => r.load))];
  for (const load of loads) {
    const of = rows.filter((r) => r.load === load);
    const base = (via: string) => of.find((r) => r.via === via)?.value;
    for (const r of of) {
      out.push(
        `| ${load} | ${r.via} | ${fmt(r.value)} ${r.unit} | ${ratio(r.value, base('direct'))} | ${ratio(r.value, base('haproxy'))} | ${ratio(r.value, base('pipe'))} |`,
      );
    }
  }
  return out.join('\n');
}

export function memoryTable(rows: readonly MemoryRow[]): string {
  const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
  const out = [
    '| through | idle connections | RSS before | RSS with them | per connection |',
    '|---|---:|---:|---:|---:|',
  ];
  for (const r of rows) {
    const per =
      r.connections > 0 ? ((r.rss - r.baselineRss) / r.connections / 1024).toFixed(1) : '—';
    out.push(
      `| ${r.via} | ${r.connections.toLocaleString('en-US')} | ${mib(r.baselineRss)} MiB | ${mib(r.rss)} MiB | ${per} KiB |`,
    );
  }
  return out.join('\n');
}

export function machineLine(): string {
  const cpu = cpus()[0]?.model.trim() ?? 'unknown CPU';
  return `${cpus().length} × ${cpu}, Node ${process.version}, ${process.platform} ${process.arch}`;
}

const BEGIN =
  '<!-- bench:results:begin (written by npm run bench; edits inside are overwritten) -->';
const END = '<!-- bench:results:end -->';

/** Replace the generated section of docs/benchmarks.md (or create the file around it). */
export function writeResults(file: string, section: string): void {
  const block = `${BEGIN}\n${section.trim()}\n${END}`;
  if (!existsSync(file)) {
    writeFileSync(file, `# Benchmarks\n\n${block}\n`);
    return;
  }
  const text = readFileSync(file, 'utf8');
  const a = text.indexOf(BEGIN.slice(0, 24));
  const b = text.indexOf(END);
  if (a >= 0 && b > a) writeFileSync(file, text.slice(0, a) + block + text.slice(b + END.length));
  else writeFileSync(file, `${text.trimEnd()}\n\n${block}\n`);
}
