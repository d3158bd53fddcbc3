/**
 * The only PostgreSQL bytes portwarden writes itself: answers to SSLRequest/GSSENCRequest,
 * and the ErrorResponse + ReadyForQuery of a denial, a refusal while the audit store is
 * unavailable, or a protocol violation.
 */
import type { TransactionStatus } from './messages.js';

/** SSLRequest answer: go ahead with TLS (protocol-flow, SSL session encryption). */
export const SSL_ACCEPT = Buffer.from('S', 'latin1');
/** SSLRequest / GSSENCRequest answer: no encryption, send the StartupMessage in clear. */
export const ENCRYPTION_REFUSED = Buffer.from('N', 'latin1');

/** SQLSTATEs portwarden answers with. */
export const SqlState = {
  InsufficientPrivilege: '42501',
  ProtocolViolation: '08P01',
  /** disk_full: a statement refused while the audit store cannot record it. */
  DiskFull: '53100',
  /** cannot_connect_now: a new connection refused while the audit store cannot record. */
  CannotConnectNow: '57P03',
} as const;

/** An ErrorResponse ('E') with severity, SQLSTATE and message (protocol-error-fields). */
export function errorResponse(
  severity: 'ERROR' | 'FATAL',
  sqlstate: string,
  message: string,
): Buffer {
  const fields: [number, string][] = [
    [0x53, severity], // 'S'
    [0x56, severity], // 'V'
    [0x43, sqlstate], // 'C'
    [0x4d, message], // 'M'
  ];
  let bodyLength = 1; // final \0
  for (const [, value] of fields) bodyLength += 1 + Buffer.byteLength(value) + 1;
  const out = Buffer.allocUnsafe(1 + 4 + bodyLength);
  out[0] = 0x45; // 'E'
  out.writeInt32BE(4 + bodyLength, 1);
  let pos = 5;
  for (const [code, value] of fields) {
    out[pos++] = code;
    pos += out.write(value, pos, 'utf8');
    out[pos++] = 0;
  }
  out[pos] = 0;
  return out;
}

const READY = {
  I: Buffer.from([0x5a, 0, 0, 0, 5, 0x49]), // 'Z' … 'I'
  T: Buffer.from([0x5a, 0, 0, 0, 5, 0x54]), // 'Z' … 'T'
  E: Buffer.from([0x5a, 0, 0, 0, 5, 0x45]), // 'Z' … 'E'
} as const;

/** ReadyForQuery ('Z') with the given transaction status. */
export function readyForQuery(status: TransactionStatus): Buffer {
  return READY[status];
}
