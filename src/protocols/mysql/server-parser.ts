import { ProtocolError } from '../../errors.js';
import { FrameMode, MAX_STREAMED_PACKET, PacketFramer } from './framer.js';
import type { FrameModeValue, FrameSink } from './framer.js';
import {
  Capability,
  MAX_PACKET_PAYLOAD,
  PROGRESS_REPORT_ERRNO,
  RESPONSE_END,
  ResponseHeader,
  ServerStatus,
} from './messages.js';
import type { ExpectedResponse, OkFields, ParserSink, ServerMessage } from './messages.js';
import { PacketReader } from './reader.js';

/** Where the parser is inside the response to the oldest outstanding command. */
type State =
  | 'idle'
  | 'greeting'
  | 'auth'
  /** First packet of a (next) result: OK, ERR, LOCAL INFILE or column count. */
  | 'result-first'
  /** Column definitions counted down, streamed. */
  | 'columns'
  /** The EOF after column definitions (without CLIENT_DEPRECATE_EOF). */
  | 'columns-eof'
  /** Rows counted, streamed, until an EOF/OK terminator or ERR. */
  | 'rows'
  | 'prepare-first'
  | 'prepare-params'
  | 'prepare-params-eof'
  | 'prepare-columns'
  | 'prepare-columns-eof'
  | 'field-list'
  | 'statistics'
  | 'simple'
  | 'opaque';

/** Payload length of an EOF_Packet under CLIENT_PROTOCOL_41. */
const EOF_LENGTH = 5;
/** The largest column count accepted (MySQL's own table limit is 4096 columns). */
const MAX_COLUMNS = 0xffff;

type OkMessage = Extract<ServerMessage, { type: 'ok' }>;

/** What both sides agreed on in the handshake, as it changes the packets the parser reads. */
export interface Negotiated {
  readonly deprecateEof: boolean;
  readonly cacheMetadata: boolean;
}

/**
 * Decodes the server→client direction of one MySQL connection. It follows the response to
 * each outstanding command in order (the session says what it forwarded with `expect`) and
 * counts column definitions and rows from their headers without decoding them.
 */
export class MysqlServerParser {
  private readonly framer: PacketFramer;
  private readonly expected: ExpectedResponse[] = [];
  private state: State = 'greeting';
  private negotiated: Negotiated = { deprecateEof: false, cacheMetadata: false };
  private binary = false;
  /** The response being read answers COM_STMT_FETCH. */
  private fetching = false;
  private left = 0;
  private columnCount = 0;
  private rows = 0;
  private columnsAfterParams = 0;

  constructor(
    maxMessageBytes: number,
    private readonly sink: ParserSink<ServerMessage>,
  ) {
    const frameSink: FrameSink = {
      modeFor: (first, length) => this.modeFor(first, length),
      frame: (seq, payload, raw) => this.frame(seq, payload, raw),
      streamBytes: (source, start, end) => this.sink.passthrough(source, start, end),
      streamEnd: () => this.streamEnd(),
    };
    this.framer = new PacketFramer(
      { maxMessageBytes, maxStreamedBytes: MAX_STREAMED_PACKET },
      frameSink,
      'server',
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

  /** The capabilities both sides agreed on (from the greeting and the HandshakeResponse). */
  setNegotiated(negotiated: Negotiated): void {
    this.negotiated = negotiated;
  }

  /** Queue the response shape of a command just forwarded to the server. */
  expect(response: ExpectedResponse): void {
    this.expected.push(response);
    if (this.state === 'idle') this.startNext();
  }

  /** Responses still owed, the current one included. */
  outstanding(): number {
    return this.expected.length + (this.state === 'idle' ? 0 : 1);
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

  private startNext(): void {
    const next = this.expected.shift();
    this.rows = 0;
    this.binary = next === 'binary-result';
    this.fetching = next === 'fetch';
    switch (next) {
      case undefined:
        this.state = 'idle';
        return;
      case 'text-result':
      case 'binary-result':
        this.state = 'result-first';
        return;
      case 'fetch':
        this.state = 'rows';
        this.binary = true;
        return;
      case 'prepare':
        this.state = 'prepare-first';
        return;
      case 'greeting':
      case 'auth':
      case 'field-list':
      case 'statistics':
      case 'simple':
      case 'opaque':
        this.state = next;
        return;
      default: {
        const never: never = next;
        throw new ProtocolError('mysql', `server: unknown expectation ${String(never)}`);
      }
    }
  }

  private end(): void {
    this.sink.message(RESPONSE_END, undefined);
    this.startNext();
  }

  private modeFor(first: number, length: number): FrameModeValue {
    switch (this.state) {
      case 'columns':
      case 'prepare-params':
      case 'prepare-columns':
      case 'opaque':
        return FrameMode.Stream;
      case 'rows':
      case 'field-list':
        return isTerminator(first, length) ? FrameMode.Decode : FrameMode.Stream;
      default:
        return FrameMode.Decode;
    }
  }

  private streamEnd(): void {
    switch (this.state) {
      case 'rows':
      case 'field-list':
        this.rows += 1;
        return;
      case 'columns':
        if (--this.left === 0) this.state = this.negotiated.deprecateEof ? 'rows' : 'columns-eof';
        return;
      case 'prepare-params':
        if (--this.left === 0) {
          if (!this.negotiated.deprecateEof) this.state = 'prepare-params-eof';
          else this.afterPrepareParams();
        }
        return;
      case 'prepare-columns':
        if (--this.left === 0) {
          if (!this.negotiated.deprecateEof) this.state = 'prepare-columns-eof';
          else this.end();
        }
        return;
      default:
        return;
    }
  }

  private frame(seq: number, payload: Buffer, raw: Buffer): void {
    const first = payload.length > 0 ? (payload[0] ?? 0) : -1;
    if (first === ResponseHeader.Err && this.state !== 'greeting' && this.state !== 'statistics') {
      const error = readError(payload, seq);
      this.sink.message(error, raw);
      // A MariaDB progress report ends nothing; any other ERR ends the whole response.
      if (error.type === 'error' && this.state !== 'idle') this.end();
      return;
    }
    switch (this.state) {
      case 'idle':
        throw fail(`unexpected packet 0x${first.toString(16)} with no command outstanding`);
      case 'greeting':
        this.sink.message(
          first === ResponseHeader.Err ? readError(payload, seq) : readHandshake(payload, seq),
          raw,
        );
        return this.end();
      case 'auth':
        return this.authPacket(first, seq, payload, raw);
      case 'result-first':
        return this.resultFirst(first, seq, payload, raw);
      case 'columns-eof': {
        const eof = this.terminator(first, seq, payload, 'EOF after column definitions');
        // A cursor was opened: rows come later through COM_STMT_FETCH.
        if (eof.status & ServerStatus.CursorExists)
          return this.resultDone(seq, eof.status, eof.warnings, raw);
        this.sink.passthrough(raw, 0, raw.length);
        this.state = 'rows';
        return;
      }
      case 'rows': {
        const done = this.terminator(first, seq, payload, 'result set terminator');
        return this.resultDone(seq, done.status, done.warnings, raw);
      }
      case 'prepare-first':
        return this.prepareFirst(first, seq, payload, raw);
      case 'prepare-params-eof':
        this.terminator(first, seq, payload, 'EOF after parameters');
        this.sink.passthrough(raw, 0, raw.length);
        return this.afterPrepareParams();
      case 'prepare-columns-eof':
        this.terminator(first, seq, payload, 'EOF after columns');
        this.sink.passthrough(raw, 0, raw.length);
        return this.end();
      case 'field-list':
        this.terminator(first, seq, payload, 'field list terminator');
        this.sink.message({ type: 'field-list', seq, columns: this.rows }, raw);
        return this.end();
      case 'statistics':
        this.sink.message({ type: 'statistics', seq, text: payload.toString('utf8') }, raw);
        return this.end();
      case 'simple':
        if (first !== ResponseHeader.Ok && first !== ResponseHeader.Eof) {
          throw fail(`expected OK, ERR or EOF, got 0x${first.toString(16)}`);
        }
        this.sink.message(this.terminator(first, seq, payload, 'command reply'), raw);
        return this.end();
      case 'columns':
      case 'prepare-params':
      case 'prepare-columns':
      case 'opaque':
        throw fail(`internal: decoded packet in streamed state ${this.state}`);
      default: {
        const never: never = this.state;
        throw fail(`unknown state ${String(never)}`);
      }
    }
  }

  private authPacket(first: number, seq: number, payload: Buffer, raw: Buffer): void {
    const reader = new PacketReader(payload, 'authentication reply', 1);
    switch (first) {
      case ResponseHeader.Ok:
        this.sink.message({ type: 'ok', seq, ...readOk(reader) }, raw);
        return this.end();
      case ResponseHeader.Eof: {
        // AuthSwitchRequest: plugin name, then plugin data (a 1-byte packet is the old switch).
        const plugin = reader.remaining() > 0 ? reader.nulStringOrRest() : 'mysql_old_password';
        this.sink.message({ type: 'auth-switch', seq, plugin }, raw);
        return;
      }
      case ResponseHeader.AuthMoreData:
        this.sink.message({ type: 'auth-more-data', seq }, raw);
        return;
      default:
        throw fail(`unexpected authentication reply 0x${first.toString(16)}`);
    }
  }

  private resultFirst(first: number, seq: number, payload: Buffer, raw: Buffer): void {
    const reader = new PacketReader(payload, 'result', 1);
    if (first === ResponseHeader.Ok) {
      const ok = readOk(reader);
      this.sink.message({ type: 'ok', seq, ...ok }, raw);
      if (!(ok.status & ServerStatus.MoreResultsExist)) this.end();
      return;
    }
    if (first === ResponseHeader.LocalInfile) {
      this.sink.message({ type: 'local-infile', seq, filename: reader.restString() }, raw);
      return;
    }
    if (first === ResponseHeader.Eof || first < 0)
      throw fail(`unexpected result packet 0x${first.toString(16)}`);
    // Column count packet (Text Resultset / Binary Protocol Resultset).
    const countReader = new PacketReader(payload, 'column count');
    const count = countReader.lenenc();
    if (typeof count === 'bigint' || count === 0 || count > MAX_COLUMNS)
      throw fail(`column count ${count}`);
    // MariaDB: with MARIADB_CLIENT_CACHE_METADATA a byte says whether definitions follow.
    const metadataFollows = this.negotiated.cacheMetadata ? countReader.int1() !== 0 : true;
    this.columnCount = count;
    this.rows = 0;
    this.sink.passthrough(raw, 0, raw.length);
    if (metadataFollows) {
      this.left = count;
      this.state = 'columns';
    } else {
      this.state = this.negotiated.deprecateEof ? 'rows' : 'columns-eof';
    }
  }

  private prepareFirst(first: number, seq: number, payload: Buffer, raw: Buffer): void {
    if (first !== ResponseHeader.Ok)
      throw fail(`expected COM_STMT_PREPARE_OK, got 0x${first.toString(16)}`);
    // COM_STMT_PREPARE_OK: status, statement id, columns, params, filler, warnings.
    const reader = new PacketReader(payload, 'COM_STMT_PREPARE_OK', 1);
    const statementId = reader.int4();
    const columnCount = reader.int2();
    const paramCount = reader.int2();
    let warnings = 0;
    if (reader.remaining() >= 3) {
      reader.skip(1);
      warnings = reader.int2();
    }
    this.sink.message(
      { type: 'prepare-ok', seq, statementId, columnCount, paramCount, warnings },
      raw,
    );
    this.columnsAfterParams = columnCount;
    if (paramCount > 0) {
      this.left = paramCount;
      this.state = 'prepare-params';
    } else {
      this.afterPrepareParams();
    }
  }

  private afterPrepareParams(): void {
    if (this.columnsAfterParams > 0) {
      this.left = this.columnsAfterParams;
      this.state = 'prepare-columns';
    } else {
      this.end();
    }
  }

  /** A result set (or one result of several) is complete. */
  private resultDone(seq: number, status: number, warnings: number, raw?: Buffer): void {
    const message: ServerMessage = {
      type: 'result-set',
      seq,
      columnCount: this.columnCount,
      rows: this.rows,
      status,
      warnings,
      cursorOpened: !this.fetching && (status & ServerStatus.CursorExists) !== 0,
    };
    this.sink.message(message, raw);
    this.rows = 0;
    if (status & ServerStatus.MoreResultsExist && this.state === 'rows')
      this.state = 'result-first';
    else this.end();
  }

  /** An EOF_Packet, or the OK_Packet with a 0xFE header that replaces it under CLIENT_DEPRECATE_EOF. */
  private terminator(first: number, seq: number, payload: Buffer, what: string): OkMessage {
    const reader = new PacketReader(payload, what, 1);
    // An EOF_Packet is 5 bytes; an OK_Packet, even with a 0xFE header, is at least 7.
    if (
      first === ResponseHeader.Ok ||
      (first === ResponseHeader.Eof && payload.length > EOF_LENGTH)
    ) {
      return { type: 'ok', seq, ...readOk(reader) };
    }
    if (first !== ResponseHeader.Eof)
      throw fail(`${what}: expected EOF, got 0x${first.toString(16)}`);
    // EOF_Packet: warnings, status flags (CLIENT_PROTOCOL_41).
    const warnings = reader.remaining() >= 2 ? reader.int2() : 0;
    const status = reader.remaining() >= 2 ? reader.int2() : 0;
    return { type: 'ok', seq, affectedRows: 0, lastInsertId: 0, status, warnings };
  }
}

/** A row packet never starts 0xFE under 0xFFFFFF bytes, nor 0xFF (Text Resultset, "0xFE header"). */
function isTerminator(first: number, length: number): boolean {
  return (
    (first === ResponseHeader.Eof && length < MAX_PACKET_PAYLOAD) || first === ResponseHeader.Err
  );
}

/** OK_Packet after its header byte: affected rows, last insert id, status, warnings. */
function readOk(reader: PacketReader): OkFields {
  const affectedRows = reader.lenenc();
  const lastInsertId = reader.lenenc();
  const status = reader.remaining() >= 2 ? reader.int2() : 0;
  const warnings = reader.remaining() >= 2 ? reader.int2() : 0;
  return { affectedRows, lastInsertId, status, warnings };
}

/** ERR_Packet: error code, then `#` and SQLSTATE (absent before the handshake), then the message. */
function readError(payload: Buffer, seq: number): ServerMessage {
  const reader = new PacketReader(payload, 'ERR_Packet', 1);
  const errorNumber = reader.int2();
  if (errorNumber === PROGRESS_REPORT_ERRNO) return { type: 'progress', seq };
  let sqlState = 'HY000';
  if (reader.remaining() >= 6 && payload[3] === 0x23 /* '#' */) {
    reader.skip(1);
    sqlState = reader.string(5);
  }
  return { type: 'error', seq, errorNumber, sqlState, message: reader.restString() };
}

/** HandshakeV10 (protocol_connection_phase_packets_protocol_handshake_v10). */
function readHandshake(payload: Buffer, seq: number): ServerMessage {
  const reader = new PacketReader(payload, 'HandshakeV10');
  const protocolVersion = reader.int1();
  if (protocolVersion !== 10)
    throw reader.fail(`protocol version ${protocolVersion} is not supported`);
  const serverVersion = reader.nulString();
  const connectionId = reader.int4();
  reader.skip(8 + 1); // auth-plugin-data-part-1, filler
  const lowerCapabilityOffset = reader.position();
  let capabilities = reader.int2();
  let upperCapabilityOffset = -1;
  let mariadbCapabilities = 0;
  let authPlugin: string | undefined;
  if (reader.remaining() > 0) {
    reader.skip(1 + 2); // character set, status flags
    upperCapabilityOffset = reader.position();
    capabilities |= reader.int2() << 16;
    capabilities >>>= 0;
    const authDataLength = reader.int1();
    reader.skip(6);
    // MariaDB's extended capabilities, valid when CLIENT_MYSQL (CLIENT_LONG_PASSWORD) is clear.
    const extended = reader.int4();
    if (!(capabilities & Capability.LongPassword)) mariadbCapabilities = extended;
    if (capabilities & Capability.SecureConnection)
      reader.skip(Math.min(reader.remaining(), Math.max(13, authDataLength - 8)));
    if (capabilities & Capability.PluginAuth && reader.remaining() > 0)
      authPlugin = reader.nulStringOrRest();
  }
  return {
    type: 'handshake',
    seq,
    protocolVersion,
    serverVersion,
    connectionId,
    capabilities,
    mariadbCapabilities,
    ...(authPlugin !== undefined ? { authPlugin } : {}),
    lowerCapabilityOffset,
    upperCapabilityOffset,
  };
}

function fail(detail: string): ProtocolError {
  return new ProtocolError('mysql', `server: ${detail}`);
}
