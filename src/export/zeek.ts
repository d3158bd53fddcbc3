/**
 * Zeek conn.log (TSV with Zeek's header lines): one line per connection, built from its
 * connection-open and connection-close records, so portwarden's view of a flow lines up
 * with what Zeek or Suricata saw on the wire (`community_id` joins them).
 *
 * The client leg is the connection: orig = the client (`source`), resp = the listener as
 * dialed (`destination`). Bytes are payload bytes each way; packet counts are unknown to a
 * proxy and left unset.
 */
import type { EventRow } from '../store/index.js';
import { bodyOf, numberAt, stringAt } from './body.js';

export const ZEEK_FIELDS = [
  ['ts', 'time'],
  ['uid', 'string'],
  ['id.orig_h', 'addr'],
  ['id.orig_p', 'port'],
  ['id.resp_h', 'addr'],
  ['id.resp_p', 'port'],
  ['proto', 'enum'],
  ['service', 'string'],
  ['duration', 'interval'],
  ['orig_bytes', 'count'],
  ['resp_bytes', 'count'],
  ['conn_state', 'string'],
  ['local_orig', 'bool'],
  ['local_resp', 'bool'],
  ['missed_bytes', 'count'],
  ['history', 'string'],
  ['orig_pkts', 'count'],
  ['orig_ip_bytes', 'count'],
  ['resp_pkts', 'count'],
  ['resp_ip_bytes', 'count'],
  ['tunnel_parents', 'set[string]'],
  ['community_id', 'string'],
] as const;

const UNSET = '-';

/** Zeek's service names for the listener protocols. */
const SERVICE: Record<string, string> = {
  postgres: 'postgresql',
  postgresql: 'postgresql',
  mysql: 'mysql',
  redis: 'redis',
  http: 'http',
  tls: 'ssl',
};

function zeekTime(ns: bigint): string {
  const s = ns / 1_000_000_000n;
  const us = (ns % 1_000_000_000n) / 1000n;
  return `${s}.${us.toString().padStart(6, '0')}`;
}

/** Escape like Zeek's ASCII writer: tab, control bytes and backslash as \xHH. */
export function zeekEscape(value: string): string {
  if (value === '') return '(empty)';
  if (value === UNSET) return '\\x2d';
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0) ?? 0;
    out += c < 0x20 || c === 0x7f || ch === '\\' ? `\\x${c.toString(16).padStart(2, '0')}` : ch;
  }
  return out;
}

/**
 * Zeek's connection state from how portwarden saw the connection end:
 * SF normal close; REJ refused (policy, limit); S0 the target never answered;
 * RSTO / RSTR reset by the client / by the target; S1 still open; OTH anything else.
 */
export function connState(open: EventRow | null, close: EventRow | null): string {
  if (open !== null && open.outcome === 'failure') {
    const reason = stringAt(bodyOf(open), 'event', 'reason');
    if (reason === 'policy' || reason === 'limit') return 'REJ';
    if (reason === 'upstream-unreachable') return 'S0';
    return 'OTH';
  }
  if (close === null) return open === null ? 'OTH' : 'S1';
  const body = bodyOf(close);
  const reason = stringAt(body, 'event', 'reason');
  switch (reason) {
    case 'client-close':
    case 'server-close':
    case 'shutdown':
      return 'SF';
    case 'reset': {
      const detail = stringAt(body, 'error', 'message') ?? '';
      if (detail.startsWith('client')) return 'RSTO';
      if (detail.startsWith('server')) return 'RSTR';
      return 'OTH';
    }
    default:
      return 'OTH';
  }
}

/** The header lines, up to and including #types. */
export function zeekHeader(openedAt: Date = new Date()): string {
  return [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    '#path\tconn',
    `#open\t${zeekDate(openedAt)}`,
    `#fields\t${ZEEK_FIELDS.map(([n]) => n).join('\t')}`,
    `#types\t${ZEEK_FIELDS.map(([, t]) => t).join('\t')}`,
  ]
    .map((l) => `${l}\n`)
    .join('');
}

export function zeekFooter(closedAt: Date = new Date()): string {
  return `#close\t${zeekDate(closedAt)}\n`;
}

function zeekDate(d: Date): string {
  // Zeek writes #open/#close as YYYY-MM-DD-HH-MM-SS.
  return d.toISOString().slice(0, 19).replace('T', '-').replaceAll(':', '-');
}

/** One conn.log line from a connection's open and close records (either may be missing). */
export function zeekLine(open: EventRow | null, close: EventRow | null): string | null {
  const first = open ?? close;
  if (first === null) return null;
  const openBody = open ? bodyOf(open) : null;
  const closeBody = close ? bodyOf(close) : null;
  const protocol =
    stringAt(openBody, 'listener', 'protocol') ?? stringAt(closeBody, 'listener', 'protocol');
  const durationNs =
    close !== null && open !== null
      ? close.timestampNs - open.timestampNs
      : (() => {
          const d = numberAt(closeBody ?? openBody, 'event', 'duration');
          return d === null ? null : BigInt(Math.round(d));
        })();
  const cell = (v: string | number | null | undefined): string =>
    v === null || v === undefined ? UNSET : typeof v === 'number' ? String(v) : zeekEscape(v);
  const cells = [
    zeekTime(first.timestampNs),
    cell(first.connectionId),
    cell(first.sourceIp),
    cell(first.sourcePort),
    cell(first.destinationIp),
    cell(first.destinationPort),
    'tcp',
    cell(protocol === null ? null : (SERVICE[protocol] ?? null)),
    durationNs === null ? UNSET : zeekTime(durationNs),
    cell(numberAt(closeBody, 'source', 'bytes')),
    cell(numberAt(closeBody, 'destination', 'bytes')),
    connState(open, close),
    UNSET,
    UNSET,
    UNSET,
    UNSET,
    UNSET,
    UNSET,
    UNSET,
    UNSET,
    UNSET,
    cell(first.communityId),
  ];
  return `${cells.join('\t')}\n`;
}
