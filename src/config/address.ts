import { isIP } from 'node:net';

/** A parsed `host:port` (IPv6 in brackets: `[::1]:5432`). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Parse `host:port`; returns null when it is not one. Port 0 is allowed (tests bind 0). */
export function parseHostPort(text: string): HostPort | null {
  const m = /^\[([0-9a-fA-F:.]+)\]:(\d{1,5})$/.exec(text) ?? /^([^:[\]\s]+):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const host = m[1] ?? '';
  const port = Number(m[2]);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return null;
  if (text.startsWith('[') && isIP(host) !== 6) return null;
  return { host, port };
}

export function formatHostPort(hp: HostPort): string {
  return isIP(hp.host) === 6 ? `[${hp.host}]:${hp.port}` : `${hp.host}:${hp.port}`;
}

/** Parse a duration like `500ms`, `30s`, `5m`, `2h`, `7d` (or a bare number of ms). */
export function parseDurationMs(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? text : null;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(text.trim());
  if (!m) return null;
  const n = Number(m[1]);
  const unit = m[2] ?? 'ms';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1;
  return Math.round(n * factor);
}
