import { ProtocolError } from '../../errors.js';
import { FrameMode, MAX_STREAMED_PACKET, PacketFramer } from './framer.js';
import type { FrameModeValue, FrameSink } from './framer.js';
import { Capability, Command } from './messages.js';
import type { ClientMessage, ParserSink } from './messages.js';
import { PacketReader } from './reader.js';

/** What the client is expected to send next. */
export type ClientPhase =
  /** SSLRequest or HandshakeResponse41 (protocol_connection_phase_packets). */
  | 'handshake'
  /** Opaque authentication packets until the server's OK or ERR. */
  | 'auth'
  /** Command packets, each starting a new sequence at 0. */
  | 'command'
  /** LOCAL INFILE contents until an empty packet (LOCAL INFILE Request). */
  | 'infile';

/** An SSLRequest is exactly the first 32 bytes of a HandshakeResponse41. */
const SSL_REQUEST_LENGTH = 32;
/** Caps what is kept of one connection attribute (they are client-chosen). */
const MAX_ATTRIBUTE_CHARS = 256;

/** Decodes the client→server direction of one MySQL connection, packet by packet. */
export class MysqlClientParser {
  private readonly framer: PacketFramer;
  private phase: ClientPhase = 'handshake';
  private capabilities = 0;

  constructor(
    maxMessageBytes: number,
    private readonly sink: ParserSink<ClientMessage>,
  ) {
    const frameSink: FrameSink = {
      modeFor: (first, length, seq) => this.modeFor(first, length, seq),
      frame: (seq, payload, raw) => this.sink.message(this.decode(seq, payload), raw),
      streamBytes: (source, start, end) => this.sink.passthrough(source, start, end),
      streamEnd: (seq, first, length) =>
        this.sink.message({ type: 'streamed', seq, command: first, length }, undefined),
    };
    this.framer = new PacketFramer(
      { maxMessageBytes, maxStreamedBytes: MAX_STREAMED_PACKET },
      frameSink,
      'client',
    );
  }

  /** Consumes a chunk; returns the bytes used (all of them unless `halt` was called). */
  push(chunk: Buffer): number {
    return this.framer.push(chunk);
  }

  /** Stop consuming the current chunk after the message being handled. */
  halt(): void {
    this.framer.halt();
  }

  /** Set by the session when the server's replies move the conversation on. */
  setPhase(phase: ClientPhase): void {
    this.phase = phase;
  }

  currentPhase(): ClientPhase {
    return this.phase;
  }

  /** The client's capability flags from its HandshakeResponse (0 before). */
  clientCapabilities(): number {
    return this.capabilities;
  }

  atBoundary(): boolean {
    return this.framer.atBoundary();
  }

  bufferedBytes(): number {
    return this.framer.bufferedBytes();
  }

  lastSequenceId(): number {
    return this.framer.lastSequenceId();
  }

  private modeFor(first: number, _length: number, seq: number): FrameModeValue {
    if (this.phase === 'infile') return first < 0 ? FrameMode.Decode : FrameMode.Stream;
    if (this.phase !== 'command') return FrameMode.Decode;
    // The sequence id restarts at 0 with each command (protocol_basic_packets).
    if (seq !== 0)
      throw new ProtocolError('mysql', `client: command packet with sequence id ${seq}`);
    if (first < 0) throw new ProtocolError('mysql', 'client: empty command packet');
    return first === Command.StmtSendLongData ? FrameMode.Stream : FrameMode.Decode;
  }

  private decode(seq: number, payload: Buffer): ClientMessage {
    switch (this.phase) {
      case 'handshake':
        return this.decodeHandshake(seq, payload);
      case 'auth':
        return { type: 'auth-data', seq };
      case 'infile':
        this.phase = 'command';
        return { type: 'infile-end', seq };
      case 'command':
        return this.decodeCommand(seq, payload);
      default: {
        const never: never = this.phase;
        throw new ProtocolError('mysql', `client: unknown phase ${String(never)}`);
      }
    }
  }

  /** SSLRequest or HandshakeResponse41 (protocol_connection_phase_packets_protocol_handshake_response). */
  private decodeHandshake(seq: number, payload: Buffer): ClientMessage {
    const reader = new PacketReader(payload, 'HandshakeResponse');
    const capabilities = reader.int4();
    if (!(capabilities & Capability.Protocol41)) {
      throw reader.fail('HandshakeResponse320 (pre-4.1 protocol) is not supported');
    }
    if (payload.length === SSL_REQUEST_LENGTH) {
      if (!(capabilities & Capability.Ssl))
        throw reader.fail('32-byte response without CLIENT_SSL');
      return { type: 'ssl-request', seq, capabilities };
    }
    reader.skip(4 + 1 + 19); // max packet size, character set, filler
    // MariaDB keeps its extended capabilities in the last 4 filler bytes.
    const mariadbCapabilities = reader.int4();
    const user = reader.nulString();
    // The auth response is skipped, never decoded or kept.
    if (capabilities & Capability.PluginAuthLenencData) reader.skip(reader.lenencLength());
    else if (capabilities & Capability.SecureConnection) reader.skip(reader.int1());
    else reader.nulString();
    let database: string | undefined;
    if (capabilities & Capability.ConnectWithDb && reader.remaining() > 0)
      database = reader.nulStringOrRest();
    let authPlugin: string | undefined;
    if (capabilities & Capability.PluginAuth && reader.remaining() > 0)
      authPlugin = reader.nulStringOrRest();
    let attributes: Record<string, string> = {};
    if (capabilities & Capability.ConnectAttrs && reader.remaining() > 0)
      attributes = readAttributes(reader);
    this.capabilities = capabilities;
    this.phase = 'auth';
    return {
      type: 'handshake-response',
      seq,
      capabilities,
      mariadbCapabilities,
      user,
      ...(database !== undefined && database !== '' ? { database } : {}),
      ...(authPlugin !== undefined ? { authPlugin } : {}),
      attributes,
    };
  }

  private decodeCommand(seq: number, payload: Buffer): ClientMessage {
    const command = payload[0] ?? 0;
    const reader = new PacketReader(payload, `command 0x${command.toString(16)}`, 1);
    switch (command) {
      case Command.Query:
        return { type: 'query', seq, text: reader.restString() };
      case Command.InitDb:
        return { type: 'init-db', seq, database: reader.restString() };
      case Command.StmtPrepare:
        return { type: 'stmt-prepare', seq, text: reader.restString() };
      case Command.StmtExecute: {
        const statementId = reader.int4();
        const flags = reader.int1();
        reader.int4(); // iteration count, always 1
        return { type: 'stmt-execute', seq, statementId, flags, payload };
      }
      case Command.StmtBulkExecute:
        return { type: 'stmt-bulk-execute', seq, statementId: reader.int4() };
      case Command.StmtClose:
        return { type: 'stmt-close', seq, statementId: reader.int4() };
      case Command.StmtReset:
        return { type: 'stmt-reset', seq, statementId: reader.int4() };
      case Command.StmtFetch: {
        const statementId = reader.int4();
        return { type: 'stmt-fetch', seq, statementId, rows: reader.int4() };
      }
      case Command.ChangeUser:
        return this.decodeChangeUser(seq, reader);
      case Command.FieldList:
        return { type: 'field-list', seq, table: reader.nulStringOrRest() };
      case Command.CreateDb:
        return { type: 'create-db', seq, database: reader.restString() };
      case Command.DropDb:
        return { type: 'drop-db', seq, database: reader.restString() };
      case Command.ProcessKill:
        return { type: 'process-kill', seq, processId: reader.int4() };
      default:
        return { type: 'command', seq, command };
    }
  }

  /** COM_CHANGE_USER: user, auth response (skipped), database, charset, plugin, attributes. */
  private decodeChangeUser(seq: number, reader: PacketReader): ClientMessage {
    const user = reader.nulString();
    if (this.capabilities & Capability.SecureConnection) reader.skip(reader.int1());
    else reader.nulString();
    const database = reader.remaining() > 0 ? reader.nulStringOrRest() : '';
    let authPlugin: string | undefined;
    if (reader.remaining() >= 2) {
      reader.int2(); // character set
      if (this.capabilities & Capability.PluginAuth && reader.remaining() > 0)
        authPlugin = reader.nulStringOrRest();
    }
    this.phase = 'auth';
    return {
      type: 'change-user',
      seq,
      user,
      ...(database !== '' ? { database } : {}),
      ...(authPlugin !== undefined ? { authPlugin } : {}),
    };
  }
}

/** Connection attributes: a length-prefixed block of length-encoded key/value strings. */
function readAttributes(reader: PacketReader): Record<string, string> {
  const total = reader.lenencLength();
  const end = reader.position() + total;
  const attributes: Record<string, string> = {};
  while (reader.position() < end) {
    const key = reader.lenencString();
    const value = reader.lenencString();
    if (reader.position() > end) throw reader.fail('connection attribute overruns its block');
    if (key !== '__proto__')
      attributes[key.slice(0, MAX_ATTRIBUTE_CHARS)] = value.slice(0, MAX_ATTRIBUTE_CHARS);
  }
  return attributes;
}
