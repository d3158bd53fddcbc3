/**
 * MySQL / MariaDB client/server protocol messages as plain readonly data. Only the fields
 * the record and policy need are decoded; everything else is forwarded as the original bytes.
 * Section names below are from the MySQL "Client/Server Protocol" pages (MariaDB's
 * "Clients & Connectors > Client/Server Protocol" is compatible for these parts).
 */

/** Capability flags (protocol_basic_capabilities / "Capabilities Flags"). */
export const Capability = {
  LongPassword: 0x1, // CLIENT_LONG_PASSWORD; MariaDB servers leave it clear ("CLIENT_MYSQL")
  ConnectWithDb: 0x8, // CLIENT_CONNECT_WITH_DB
  Compress: 0x20, // CLIENT_COMPRESS
  LocalFiles: 0x80, // CLIENT_LOCAL_FILES
  Protocol41: 0x200, // CLIENT_PROTOCOL_41
  Ssl: 0x800, // CLIENT_SSL
  Transactions: 0x2000, // CLIENT_TRANSACTIONS
  SecureConnection: 0x8000, // CLIENT_SECURE_CONNECTION (CLIENT_RESERVED2)
  MultiStatements: 0x10000, // CLIENT_MULTI_STATEMENTS
  MultiResults: 0x20000, // CLIENT_MULTI_RESULTS
  PluginAuth: 0x80000, // CLIENT_PLUGIN_AUTH
  ConnectAttrs: 0x100000, // CLIENT_CONNECT_ATTRS
  PluginAuthLenencData: 0x200000, // CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
  SessionTrack: 0x800000, // CLIENT_SESSION_TRACK
  DeprecateEof: 0x1000000, // CLIENT_DEPRECATE_EOF
  OptionalResultsetMetadata: 0x2000000, // CLIENT_OPTIONAL_RESULTSET_METADATA (MySQL 8)
  ZstdCompression: 0x4000000, // CLIENT_ZSTD_COMPRESSION_ALGORITHM (MySQL 8.0.18)
  QueryAttributes: 0x8000000, // CLIENT_QUERY_ATTRIBUTES (MySQL 8.0.23)
} as const;

/** MariaDB extended capabilities (the 4 bytes hidden in the handshake's reserved filler). */
export const MariadbCapability = {
  Progress: 0x1, // MARIADB_CLIENT_PROGRESS (1 << 32)
  StmtBulkOperations: 0x4, // MARIADB_CLIENT_STMT_BULK_OPERATIONS (1 << 34)
  ExtendedMetadata: 0x8, // MARIADB_CLIENT_EXTENDED_METADATA (1 << 35)
  CacheMetadata: 0x10, // MARIADB_CLIENT_CACHE_METADATA (1 << 36)
} as const;

/**
 * Capabilities the gateway removes from the server greeting: compression would hide every
 * later byte from us, query attributes and optional metadata change packet layouts we read.
 */
export const STRIPPED_CAPABILITIES =
  Capability.Compress |
  Capability.ZstdCompression |
  Capability.QueryAttributes |
  Capability.OptionalResultsetMetadata;

/** Command bytes: the first payload byte of a command packet (Text/Utility/Prepared Statements). */
export const Command = {
  Sleep: 0x00, // COM_SLEEP (server-internal)
  Quit: 0x01, // COM_QUIT
  InitDb: 0x02, // COM_INIT_DB
  Query: 0x03, // COM_QUERY
  FieldList: 0x04, // COM_FIELD_LIST
  CreateDb: 0x05, // COM_CREATE_DB
  DropDb: 0x06, // COM_DROP_DB
  Refresh: 0x07, // COM_REFRESH
  Shutdown: 0x08, // COM_SHUTDOWN
  Statistics: 0x09, // COM_STATISTICS
  ProcessInfo: 0x0a, // COM_PROCESS_INFO
  Connect: 0x0b, // COM_CONNECT (server-internal)
  ProcessKill: 0x0c, // COM_PROCESS_KILL
  Debug: 0x0d, // COM_DEBUG
  Ping: 0x0e, // COM_PING
  Time: 0x0f, // COM_TIME (server-internal)
  DelayedInsert: 0x10, // COM_DELAYED_INSERT (server-internal)
  ChangeUser: 0x11, // COM_CHANGE_USER
  BinlogDump: 0x12, // COM_BINLOG_DUMP
  TableDump: 0x13, // COM_TABLE_DUMP
  ConnectOut: 0x14, // COM_CONNECT_OUT
  RegisterSlave: 0x15, // COM_REGISTER_SLAVE
  StmtPrepare: 0x16, // COM_STMT_PREPARE
  StmtExecute: 0x17, // COM_STMT_EXECUTE
  StmtSendLongData: 0x18, // COM_STMT_SEND_LONG_DATA
  StmtClose: 0x19, // COM_STMT_CLOSE
  StmtReset: 0x1a, // COM_STMT_RESET
  SetOption: 0x1b, // COM_SET_OPTION
  StmtFetch: 0x1c, // COM_STMT_FETCH
  Daemon: 0x1d, // COM_DAEMON
  BinlogDumpGtid: 0x1e, // COM_BINLOG_DUMP_GTID
  ResetConnection: 0x1f, // COM_RESET_CONNECTION
  StmtBulkExecute: 0xfa, // COM_STMT_BULK_EXECUTE (MariaDB)
} as const;

/** First payload byte of generic response packets (OK_Packet, ERR_Packet, EOF_Packet). */
export const ResponseHeader = {
  Ok: 0x00, // OK_Packet
  AuthMoreData: 0x01, // AuthMoreData (caching_sha2_password, ed25519 …)
  LocalInfile: 0xfb, // LOCAL INFILE Request
  Eof: 0xfe, // EOF_Packet; also AuthSwitchRequest during authentication
  Err: 0xff, // ERR_Packet
} as const;

/** Server status flags in OK/EOF packets (SERVER_STATUS_flags_enum). */
export const ServerStatus = {
  InTransaction: 0x0001, // SERVER_STATUS_IN_TRANS
  Autocommit: 0x0002, // SERVER_STATUS_AUTOCOMMIT
  MoreResultsExist: 0x0008, // SERVER_MORE_RESULTS_EXISTS
  CursorExists: 0x0040, // SERVER_STATUS_CURSOR_EXISTS
  LastRowSent: 0x0080, // SERVER_STATUS_LAST_ROW_SENT
} as const;

/** MariaDB progress reports are ERR packets with this error number; they end nothing. */
export const PROGRESS_REPORT_ERRNO = 0xffff;

/** A payload of exactly this length continues in the next packet (Sending More Than 16Mb). */
export const MAX_PACKET_PAYLOAD = 0xffffff;

/** What the client sends, as far as the session needs it. */
export type ClientMessage =
  | {
      readonly type: 'ssl-request';
      readonly seq: number;
      readonly capabilities: number;
    }
  | {
      readonly type: 'handshake-response';
      readonly seq: number;
      readonly capabilities: number;
      readonly mariadbCapabilities: number;
      readonly user: string;
      readonly database?: string;
      readonly authPlugin?: string;
      /** Connection attributes (program_name, _client_name, …), never the auth response. */
      readonly attributes: Readonly<Record<string, string>>;
    }
  /** A packet of an authentication exchange (auth switch response, more data): opaque. */
  | { readonly type: 'auth-data'; readonly seq: number }
  | { readonly type: 'query'; readonly seq: number; readonly text: string }
  | { readonly type: 'init-db'; readonly seq: number; readonly database: string }
  | { readonly type: 'stmt-prepare'; readonly seq: number; readonly text: string }
  | {
      readonly type: 'stmt-execute';
      readonly seq: number;
      readonly statementId: number;
      readonly flags: number;
      /** The whole payload, a view: parameter values are decoded only when recorded. */
      readonly payload: Buffer;
    }
  | { readonly type: 'stmt-bulk-execute'; readonly seq: number; readonly statementId: number }
  | { readonly type: 'stmt-close'; readonly seq: number; readonly statementId: number }
  | { readonly type: 'stmt-reset'; readonly seq: number; readonly statementId: number }
  | {
      readonly type: 'stmt-fetch';
      readonly seq: number;
      readonly statementId: number;
      /** How many rows the client asks for. */
      readonly rows: number;
    }
  | {
      readonly type: 'change-user';
      readonly seq: number;
      readonly user: string;
      readonly database?: string;
      readonly authPlugin?: string;
    }
  | { readonly type: 'field-list'; readonly seq: number; readonly table: string }
  | { readonly type: 'create-db' | 'drop-db'; readonly seq: number; readonly database: string }
  | { readonly type: 'process-kill'; readonly seq: number; readonly processId: number }
  /** Any other command byte, decoded no further (ping, quit, statistics, set-option, …). */
  | { readonly type: 'command'; readonly seq: number; readonly command: number }
  /** The end of a streamed packet we do not decode (long data, LOCAL INFILE contents). */
  | {
      readonly type: 'streamed';
      readonly seq: number;
      readonly command: number;
      readonly length: number;
    }
  /** The empty packet that ends LOCAL INFILE contents. */
  | { readonly type: 'infile-end'; readonly seq: number };

/** OK_Packet fields (also the DEPRECATE_EOF terminator of a result set). */
export interface OkFields {
  readonly affectedRows: number | bigint;
  readonly lastInsertId: number | bigint;
  readonly status: number;
  readonly warnings: number;
}

/** What the server sends, as far as the session needs it. */
export type ServerMessage =
  | {
      readonly type: 'handshake';
      readonly seq: number;
      readonly protocolVersion: number;
      readonly serverVersion: string;
      readonly connectionId: number;
      readonly capabilities: number;
      readonly mariadbCapabilities: number;
      readonly authPlugin?: string;
      /** Payload offsets of the lower and upper 2-byte capability words (-1: absent). */
      readonly lowerCapabilityOffset: number;
      readonly upperCapabilityOffset: number;
    }
  | ({ readonly type: 'ok'; readonly seq: number } & OkFields)
  | {
      readonly type: 'error';
      readonly seq: number;
      readonly errorNumber: number;
      readonly sqlState: string;
      readonly message: string;
    }
  | { readonly type: 'auth-switch'; readonly seq: number; readonly plugin: string }
  | { readonly type: 'auth-more-data'; readonly seq: number }
  | { readonly type: 'local-infile'; readonly seq: number; readonly filename: string }
  /** A whole result set, counted: rows are never decoded. */
  | {
      readonly type: 'result-set';
      readonly seq: number;
      readonly columnCount: number;
      readonly rows: number;
      readonly status: number;
      readonly warnings: number;
      /** A COM_STMT_EXECUTE opened a cursor instead of sending rows (fetched later). */
      readonly cursorOpened: boolean;
    }
  | {
      readonly type: 'prepare-ok';
      readonly seq: number;
      readonly statementId: number;
      readonly columnCount: number;
      readonly paramCount: number;
      readonly warnings: number;
    }
  /** COM_FIELD_LIST's column definitions, counted. */
  | { readonly type: 'field-list'; readonly seq: number; readonly columns: number }
  /** COM_STATISTICS's one human-readable string packet. */
  | { readonly type: 'statistics'; readonly seq: number; readonly text: string }
  /** A MariaDB progress report (ERR 0xFFFF); informational only. */
  | { readonly type: 'progress'; readonly seq: number }
  /** The response to the oldest outstanding command is complete. */
  | { readonly type: 'response-end' };

/** The response shape the server parser expects next, in command order. */
export type ExpectedResponse =
  /** HandshakeV10, or ERR when the server refuses the connection. */
  | 'greeting'
  /** Authentication: OK, ERR, AuthSwitchRequest or AuthMoreData until OK/ERR. */
  | 'auth'
  /** OK, ERR, LOCAL INFILE, or text result set(s), chained by SERVER_MORE_RESULTS_EXISTS. */
  | 'text-result'
  /** As text-result, for COM_STMT_EXECUTE (binary rows; MariaDB may skip cached metadata). */
  | 'binary-result'
  | 'prepare'
  /** Rows then EOF (COM_STMT_FETCH). */
  | 'fetch'
  | 'field-list'
  | 'statistics'
  /** One OK, ERR or EOF packet. */
  | 'simple'
  /** An endless stream we cannot follow (binlog dump): everything passes uncounted. */
  | 'opaque';

/** Singleton for the body-less end marker. */
export const RESPONSE_END: ServerMessage = { type: 'response-end' };

/** Where a parser hands what it finds: decoded messages with their raw bytes, streamed bytes as ranges. */
export interface ParserSink<M> {
  /** A decoded message; `raw` is its whole packet(s), absent for the end of a streamed packet. */
  message(message: M, raw: Buffer | undefined): void;
  /** Raw bytes of a streamed packet (headers included), `source[start, end)`. */
  passthrough(source: Buffer, start: number, end: number): void;
}
