/**
 * Builds MySQL wire bytes for tests, independently of the production code (which only
 * writes ERR packets). Section names are from the MySQL "Client/Server Protocol" pages.
 */

/** int<1..8> little-endian helpers and the other basic types (protocol_basic_dt_integers, _strings). */
export const int1 = (n: number): Buffer => Buffer.from([n & 0xff]);
export const int2 = (n: number): Buffer => Buffer.from([n & 0xff, (n >> 8) & 0xff]);
export const int3 = (n: number): Buffer =>
  Buffer.from([n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff]);
export const int4 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
};
export const int8 = (n: bigint): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(n);
  return b;
};
/** int<lenenc>: < 251 one byte; 0xFC int<2>; 0xFD int<3>; 0xFE int<8>. */
export function lenenc(n: number | bigint): Buffer {
  const v = BigInt(n);
  if (v < 251n) return int1(Number(v));
  if (v < 0x10000n) return Buffer.concat([int1(0xfc), int2(Number(v))]);
  if (v < 0x1000000n) return Buffer.concat([int1(0xfd), int3(Number(v))]);
  return Buffer.concat([int1(0xfe), int8(v)]);
}
export const nul = (s: string): Buffer => Buffer.concat([Buffer.from(s, 'utf8'), int1(0)]);
export const lenencStr = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
  return Buffer.concat([lenenc(b.length), b]);
};
export const str = (s: string): Buffer => Buffer.from(s, 'utf8');

/** One logical packet: split into 0xFFFFFF-byte physical packets (protocol_basic_packets). */
export function packet(seq: number, payload: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  let s = seq;
  for (;;) {
    const len = Math.min(0xffffff, payload.length - offset);
    parts.push(int3(len), int1(s & 0xff), payload.subarray(offset, offset + len));
    offset += len;
    s += 1;
    if (len < 0xffffff) break;
  }
  return Buffer.concat(parts);
}

export const CAP = {
  LONG_PASSWORD: 0x1,
  CONNECT_WITH_DB: 0x8,
  COMPRESS: 0x20,
  LOCAL_FILES: 0x80,
  PROTOCOL_41: 0x200,
  SSL: 0x800,
  TRANSACTIONS: 0x2000,
  SECURE_CONNECTION: 0x8000,
  MULTI_STATEMENTS: 0x10000,
  MULTI_RESULTS: 0x20000,
  PLUGIN_AUTH: 0x80000,
  CONNECT_ATTRS: 0x100000,
  PLUGIN_AUTH_LENENC: 0x200000,
  DEPRECATE_EOF: 0x1000000,
  ZSTD: 0x4000000,
  QUERY_ATTRIBUTES: 0x8000000,
} as const;

/** A MariaDB-like server's capabilities (CLIENT_MYSQL clear). */
export const SERVER_CAPS =
  CAP.CONNECT_WITH_DB |
  CAP.COMPRESS |
  CAP.LOCAL_FILES |
  CAP.PROTOCOL_41 |
  CAP.SSL |
  CAP.TRANSACTIONS |
  CAP.SECURE_CONNECTION |
  CAP.MULTI_STATEMENTS |
  CAP.MULTI_RESULTS |
  CAP.PLUGIN_AUTH |
  CAP.CONNECT_ATTRS |
  CAP.PLUGIN_AUTH_LENENC |
  CAP.DEPRECATE_EOF |
  CAP.ZSTD;

/** A client's capabilities, without DEPRECATE_EOF unless asked. */
export const CLIENT_CAPS =
  CAP.LONG_PASSWORD |
  CAP.CONNECT_WITH_DB |
  CAP.PROTOCOL_41 |
  CAP.TRANSACTIONS |
  CAP.SECURE_CONNECTION |
  CAP.MULTI_STATEMENTS |
  CAP.MULTI_RESULTS |
  CAP.PLUGIN_AUTH |
  CAP.CONNECT_ATTRS |
  CAP.PLUGIN_AUTH_LENENC;

/** Initial Handshake Packet, HandshakeV10 (protocol_connection_phase_packets_protocol_handshake_v10). */
export function handshakeV10(
  opts: { capabilities?: number; mariadb?: number; version?: string; connectionId?: number } = {},
): Buffer {
  const caps = opts.capabilities ?? SERVER_CAPS;
  return Buffer.concat([
    int1(10),
    nul(opts.version ?? '5.5.5-10.11.19-MariaDB'),
    int4(opts.connectionId ?? 42),
    str('abcdefgh'), // auth-plugin-data-part-1
    int1(0),
    int2(caps & 0xffff),
    int1(0x2d), // utf8mb4_general_ci
    int2(0x0002), // SERVER_STATUS_AUTOCOMMIT
    int2(caps >>> 16),
    int1(21), // auth plugin data length
    Buffer.alloc(6),
    int4(opts.mariadb ?? 0), // MariaDB extended capabilities
    str('ijklmnopqrst'),
    int1(0), // part 2 is max(13, 21 - 8) bytes including its NUL
    nul('mysql_native_password'),
  ]);
}

/** SSLRequest: the first 32 bytes of a HandshakeResponse41 with CLIENT_SSL. */
export function sslRequest(capabilities = CLIENT_CAPS | CAP.SSL): Buffer {
  return Buffer.concat([int4(capabilities), int4(16 * 1024 * 1024), int1(0x2d), Buffer.alloc(23)]);
}

/** HandshakeResponse41 (protocol_connection_phase_packets_protocol_handshake_response). */
export function handshakeResponse41(
  opts: {
    capabilities?: number;
    user?: string;
    database?: string;
    plugin?: string;
    authResponse?: Buffer;
    attributes?: Record<string, string>;
    mariadb?: number;
  } = {},
): Buffer {
  const caps = opts.capabilities ?? CLIENT_CAPS;
  const filler = Buffer.alloc(23);
  filler.writeUInt32LE(opts.mariadb ?? 0, 19);
  const auth = opts.authResponse ?? Buffer.from('0123456789abcdefghij');
  const parts = [int4(caps), int4(16 * 1024 * 1024), int1(0x2d), filler, nul(opts.user ?? 'app')];
  if (caps & CAP.PLUGIN_AUTH_LENENC) parts.push(lenencStr(auth));
  else if (caps & CAP.SECURE_CONNECTION) parts.push(int1(auth.length), auth);
  else parts.push(auth, int1(0));
  if (caps & CAP.CONNECT_WITH_DB) parts.push(nul(opts.database ?? 'orders'));
  if (caps & CAP.PLUGIN_AUTH) parts.push(nul(opts.plugin ?? 'mysql_native_password'));
  if (caps & CAP.CONNECT_ATTRS) {
    const attrs = Object.entries(
      opts.attributes ?? { _client_name: 'libtest', program_name: 'billing' },
    );
    const block = Buffer.concat(attrs.flatMap(([k, v]) => [lenencStr(k), lenencStr(v)]));
    parts.push(lenenc(block.length), block);
  }
  return Buffer.concat(parts);
}

/** OK_Packet (protocol_basic_ok_packet), header 0x00 or 0xFE (DEPRECATE_EOF terminator). */
export function ok(
  opts: {
    affected?: number | bigint;
    insertId?: number | bigint;
    status?: number;
    warnings?: number;
    header?: number;
  } = {},
): Buffer {
  return Buffer.concat([
    int1(opts.header ?? 0x00),
    lenenc(opts.affected ?? 0),
    lenenc(opts.insertId ?? 0),
    int2(opts.status ?? 0x0002),
    int2(opts.warnings ?? 0),
  ]);
}

/** ERR_Packet (protocol_basic_err_packet). */
export function err(code: number, sqlState: string, message: string, withState = true): Buffer {
  return Buffer.concat([
    int1(0xff),
    int2(code),
    withState ? str(`#${sqlState}`) : Buffer.alloc(0),
    str(message),
  ]);
}

/** EOF_Packet (protocol_basic_eof_packet). */
export function eof(status = 0x0002, warnings = 0): Buffer {
  return Buffer.concat([int1(0xfe), int2(warnings), int2(status)]);
}

/** Column Definition 41: content is never decoded by the gateway, only counted. */
export function columnDef(name: string): Buffer {
  return Buffer.concat([
    lenencStr('def'),
    lenencStr('test'),
    lenencStr('t'),
    lenencStr('t'),
    lenencStr(name),
    lenencStr(name),
    lenenc(0x0c),
    int2(0x2d),
    int4(255),
    int1(0xfd),
    int2(0),
    int1(0),
    int2(0),
  ]);
}

/** Text Resultset row: one length-encoded string per column, 0xFB for NULL. */
export function textRow(values: readonly (string | null)[]): Buffer {
  return Buffer.concat(values.map((v) => (v === null ? int1(0xfb) : lenencStr(v))));
}

/** A whole text result set as consecutive packets starting at `seq`. */
export function textResultSet(
  seq: number,
  columns: readonly string[],
  rows: readonly (readonly (string | null)[])[],
  opts: { deprecateEof?: boolean; status?: number } = {},
): Buffer {
  const parts: Buffer[] = [];
  let s = seq;
  parts.push(packet(s++, lenenc(columns.length)));
  for (const c of columns) parts.push(packet(s++, columnDef(c)));
  if (opts.deprecateEof !== true) parts.push(packet(s++, eof()));
  for (const r of rows) parts.push(packet(s++, textRow(r)));
  const status = opts.status ?? 0x0002;
  parts.push(packet(s, opts.deprecateEof === true ? ok({ header: 0xfe, status }) : eof(status)));
  return Buffer.concat(parts);
}

/** COM_STMT_PREPARE_OK (protocol_com_stmt_prepare). */
export function prepareOk(statementId: number, columns: number, params: number): Buffer {
  return Buffer.concat([int1(0), int4(statementId), int2(columns), int2(params), int1(0), int2(0)]);
}

/** A command packet: command byte plus body, always sequence 0. */
export function command(code: number, body: Buffer = Buffer.alloc(0)): Buffer {
  return packet(0, Buffer.concat([int1(code), body]));
}
export const comQuery = (sql: string): Buffer => command(0x03, str(sql));
export const comInitDb = (db: string): Buffer => command(0x02, str(db));
export const comPrepare = (sql: string): Buffer => command(0x16, str(sql));
export const comClose = (id: number): Buffer => command(0x19, int4(id));
export const comPing = (): Buffer => command(0x0e);
export const comQuit = (): Buffer => command(0x01);

/** COM_STMT_EXECUTE with bound parameters (protocol_com_stmt_execute). */
export function comExecute(
  statementId: number,
  params: readonly { type: number; unsigned?: boolean; value: Buffer | null }[],
  sendTypes = true,
): Buffer {
  const parts = [int1(0x17), int4(statementId), int1(0), int4(1)];
  if (params.length > 0) {
    const bitmap = Buffer.alloc((params.length + 7) >> 3);
    params.forEach((p, i) => {
      if (p.value === null) bitmap[i >> 3] = (bitmap[i >> 3] ?? 0) | (1 << (i & 7));
    });
    parts.push(bitmap, int1(sendTypes ? 1 : 0));
    if (sendTypes)
      for (const p of params) parts.push(int1(p.type), int1(p.unsigned === true ? 0x80 : 0));
    for (const p of params) if (p.value !== null) parts.push(p.value);
  }
  return packet(0, Buffer.concat(parts));
}

/** COM_CHANGE_USER (protocol_com_change_user). */
export function comChangeUser(user: string, database: string): Buffer {
  const auth = Buffer.from('abcdefghij0123456789');
  return command(
    0x11,
    Buffer.concat([
      nul(user),
      int1(auth.length),
      auth,
      nul(database),
      int2(0x2d),
      nul('mysql_native_password'),
    ]),
  );
}
