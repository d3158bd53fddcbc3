import { Capability, ResponseHeader, STRIPPED_CAPABILITIES } from './messages.js';

/**
 * The only bytes the gateway writes or changes on a MySQL connection:
 * - ERR packets it answers itself (a policy denial, a protocol violation, a refusal while
 *   the audit store is unavailable — in place of the greeting for a new connection);
 * - the capability words of the server greeting, edited in place (2 bytes each) so the
 *   client never negotiates compression or packet layouts we cannot read, and CLIENT_SSL
 *   only when the gateway terminates TLS itself;
 * - the same bits cleared in the client's HandshakeResponse, in case it set them anyway;
 * - when it terminates TLS: sequence ids shifted by one during authentication (the
 *   SSLRequest is not forwarded, so the server counts one packet fewer).
 * Everything else is forwarded as it arrived.
 */

const HEADER = 4;

/** ERR_Packet with SQLSTATE (protocol_basic_err_packet), as packet `seq`. */
export function errPacket(
  seq: number,
  errorNumber: number,
  sqlState: string,
  message: string,
): Buffer {
  const text = Buffer.from(message, 'utf8');
  const payloadLength = 1 + 2 + 1 + 5 + text.length;
  const packet = Buffer.alloc(HEADER + payloadLength);
  packet.writeUIntLE(payloadLength, 0, 3);
  packet[3] = seq & 0xff;
  packet[4] = ResponseHeader.Err;
  packet.writeUInt16LE(errorNumber, 5);
  packet[7] = 0x23; // '#'
  packet.write(sqlState.padEnd(5, '0').slice(0, 5), 8, 'latin1');
  text.copy(packet, 13);
  return packet;
}

/**
 * ERR_Packet sent in place of the server greeting (packet 0): no SQLSTATE, because
 * CLIENT_PROTOCOL_41 is not negotiated yet — what a server sends when it refuses a
 * connection before the handshake (too many connections, host blocked).
 */
export function greetingErrPacket(errorNumber: number, message: string): Buffer {
  const text = Buffer.from(message, 'utf8');
  const payloadLength = 1 + 2 + text.length;
  const packet = Buffer.alloc(HEADER + payloadLength);
  packet.writeUIntLE(payloadLength, 0, 3);
  packet[3] = 0;
  packet[4] = ResponseHeader.Err;
  packet.writeUInt16LE(errorNumber, 5);
  text.copy(packet, 7);
  return packet;
}

/**
 * Rewrites the capability words of a forwarded HandshakeV10 in place: strips compression,
 * query attributes and optional metadata; sets CLIENT_SSL exactly when `offerTls`.
 * Returns the capabilities the client now sees.
 */
export function editGreetingCapabilities(
  raw: Buffer,
  lowerOffset: number,
  upperOffset: number,
  capabilities: number,
  offerTls: boolean,
): number {
  let edited = (capabilities & ~STRIPPED_CAPABILITIES) >>> 0;
  edited = offerTls ? (edited | Capability.Ssl) >>> 0 : (edited & ~Capability.Ssl) >>> 0;
  raw.writeUInt16LE(edited & 0xffff, HEADER + lowerOffset);
  if (upperOffset >= 0) raw.writeUInt16LE(edited >>> 16, HEADER + upperOffset);
  else edited &= 0xffff;
  return edited;
}

/**
 * Clears capability bits in a forwarded HandshakeResponse41, in place: CLIENT_SSL when the
 * gateway terminated TLS (the gateway→server leg is plain), and whatever the greeting did not
 * offer — some clients set bits blindly (mysql2 always sets CLIENT_QUERY_ATTRIBUTES), and the
 * server must see exactly what the client will speak.
 */
export function clearResponseCapabilities(raw: Buffer, bits: number): void {
  const capabilities = raw.readUInt32LE(HEADER);
  raw.writeUInt32LE((capabilities & ~bits) >>> 0, HEADER);
}
