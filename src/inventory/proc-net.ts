/**
 * Parser for the kernel's /proc/net/tcp and /proc/net/tcp6 tables (net/ipv4/tcp_ipv4.c
 * get_tcp4_sock, net/ipv6/tcp_ipv6.c get_tcp6_sock): one socket per line, hex fields.
 */
import { endianness } from 'node:os';
import { formatIp } from '../gateway/community-id.js';

export type TcpFamily = 'tcp4' | 'tcp6';

/** Kernel TCP states as printed in the `st` column (include/net/tcp_states.h). */
export const TCP_STATE = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0A': 'LISTEN',
  '0B': 'CLOSING',
  '0C': 'NEW_SYN_RECV',
} as const;

export type TcpState = (typeof TCP_STATE)[keyof typeof TCP_STATE];

export interface SocketEndpoint {
  readonly ip: string;
  readonly port: number;
}

/** One socket row; `inode` is 0 for sockets no process holds (TIME_WAIT, NEW_SYN_RECV). */
export interface ProcNetRow {
  readonly local: SocketEndpoint;
  readonly remote: SocketEndpoint;
  readonly state: TcpState;
  readonly uid: number;
  readonly inode: number;
}

/** Parsed rows plus how many lines did not parse and whether `maxRows` cut the table. */
export interface ProcNetTable {
  readonly rows: readonly ProcNetRow[];
  readonly malformed: number;
  readonly truncated: boolean;
}

export interface ProcNetOptions {
  /** Rows kept at most (default 1 000 000); later lines are not parsed. */
  readonly maxRows?: number;
  /** Byte order of the host that wrote the text (default: this host's). */
  readonly endianness?: 'LE' | 'BE';
}

const ADDRESS_HEX = { tcp4: 8, tcp6: 32 } as const;

/** Parse /proc/net/tcp or tcp6 text; malformed lines are counted and skipped, never thrown. */
export function parseProcNetTcp(
  text: string,
  family: TcpFamily,
  options: ProcNetOptions = {},
): ProcNetTable {
  const maxRows = options.maxRows ?? 1_000_000;
  const order = options.endianness ?? endianness();
  const rows: ProcNetRow[] = [];
  let malformed = 0;
  let truncated = false;
  let start = 0;
  let first = true;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    const line = text.slice(start, end);
    start = end + 1;
    if (first) {
      first = false;
      if (line.trimStart().startsWith('sl')) continue; // the column header
    }
    if (line.trim().length === 0) continue;
    if (rows.length >= maxRows) {
      truncated = true;
      break;
    }
    const row = parseRow(line, family, order);
    if (row === null) malformed++;
    else rows.push(row);
  }
  return { rows, malformed, truncated };
}

/** `sl: local rem st tx:rx tr:when retrnsmt uid timeout inode …` — whitespace-separated. */
function parseRow(line: string, family: TcpFamily, order: 'LE' | 'BE'): ProcNetRow | null {
  const fields = line.trim().split(/\s+/, 10);
  if (fields.length < 10 || !/^\d+:$/.test(fields[0] ?? '')) return null;
  const local = parseEndpoint(fields[1] ?? '', family, order);
  const remote = parseEndpoint(fields[2] ?? '', family, order);
  const state = stateOf(fields[3] ?? '');
  const uid = decimal(fields[7] ?? '');
  const inode = decimal(fields[9] ?? '');
  if (local === null || remote === null || state === null || uid === null || inode === null)
    return null;
  return { local, remote, state, uid, inode };
}

function stateOf(hex: string): TcpState | null {
  const key = hex.toUpperCase();
  return Object.hasOwn(TCP_STATE, key) ? TCP_STATE[key as keyof typeof TCP_STATE] : null;
}

function decimal(text: string): number | null {
  if (!/^\d{1,15}$/.test(text)) return null;
  return Number(text);
}

/** `ADDR:PORT`: the address as native-endian u32 words in hex, the port as big-endian hex. */
function parseEndpoint(
  field: string,
  family: TcpFamily,
  order: 'LE' | 'BE',
): SocketEndpoint | null {
  const hexLength = ADDRESS_HEX[family];
  if (field.length !== hexLength + 5 || field[hexLength] !== ':') return null;
  const bytes = procHexToBytes(field.slice(0, hexLength), order);
  const portHex = field.slice(hexLength + 1);
  if (bytes === null || !/^[0-9A-Fa-f]{4}$/.test(portHex)) return null;
  return { ip: formatIp(bytes), port: Number.parseInt(portHex, 16) };
}

/** Kernel hex address (8 or 32 digits, u32 words in host order) → network-order bytes. */
export function procHexToBytes(hex: string, order: 'LE' | 'BE' = endianness()): Buffer | null {
  if ((hex.length !== 8 && hex.length !== 32) || !/^[0-9A-Fa-f]+$/.test(hex)) return null;
  const out = Buffer.alloc(hex.length / 2);
  for (let word = 0; word < hex.length / 8; word++) {
    const value = Number.parseInt(hex.slice(word * 8, word * 8 + 8), 16);
    if (order === 'LE') out.writeUInt32LE(value, word * 4);
    else out.writeUInt32BE(value, word * 4);
  }
  return out;
}

/** Network-order address bytes and a port → the kernel's `ADDR:PORT` text (upper-case hex). */
export function procEndpointHex(
  bytes: Buffer,
  port: number,
  order: 'LE' | 'BE' = endianness(),
): string {
  let hex = '';
  for (let at = 0; at + 4 <= bytes.length; at += 4) {
    const value = order === 'LE' ? bytes.readUInt32LE(at) : bytes.readUInt32BE(at);
    hex += value.toString(16).toUpperCase().padStart(8, '0');
  }
  return `${hex}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}
