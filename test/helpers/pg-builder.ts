/**
 * Test-only builder of PostgreSQL protocol bytes, written from the spec
 * (https://www.postgresql.org/docs/current/protocol-message-formats.html) and independent
 * of src/protocols/postgres/serializer.ts.
 */

class Writer {
  private readonly parts: Buffer[] = [];

  int8(value: number): this {
    this.parts.push(Buffer.from([value & 0xff]));
    return this;
  }

  int16(value: number): this {
    const b = Buffer.alloc(2);
    b.writeInt16BE(value);
    this.parts.push(b);
    return this;
  }

  int32(value: number): this {
    const b = Buffer.alloc(4);
    b.writeInt32BE(value | 0);
    this.parts.push(b);
    return this;
  }

  cstring(value: string): this {
    this.parts.push(Buffer.from(value, 'utf8'), Buffer.from([0]));
    return this;
  }

  bytes(value: Buffer): this {
    this.parts.push(value);
    return this;
  }

  body(): Buffer {
    return Buffer.concat(this.parts);
  }

  /** Byte1 type, Int32 length (counting itself, not the type), body. */
  typed(type: string): Buffer {
    const body = this.body();
    const head = Buffer.alloc(5);
    head.write(type, 0, 'latin1');
    head.writeInt32BE(body.length + 4, 1);
    return Buffer.concat([head, body]);
  }

  /** Startup-phase packet: Int32 length (counting itself), body — no type byte. */
  untyped(): Buffer {
    const body = this.body();
    const head = Buffer.alloc(4);
    head.writeInt32BE(body.length + 4);
    return Buffer.concat([head, body]);
  }
}

const w = (): Writer => new Writer();

/** Frontend messages (protocol-message-formats). */
export const fe = {
  /** StartupMessage: Int32 196608 (3.0), name\0value\0 pairs, \0. */
  startup(parameters: Record<string, string>, version = 196608): Buffer {
    const b = w().int32(version);
    for (const [name, value] of Object.entries(parameters)) b.cstring(name).cstring(value);
    return b.int8(0).untyped();
  },
  /** SSLRequest: length 8, code 80877103. */
  sslRequest: (): Buffer => w().int32(80877103).untyped(),
  /** GSSENCRequest: length 8, code 80877104. */
  gssencRequest: (): Buffer => w().int32(80877104).untyped(),
  /** CancelRequest: length 16 (3.0), code 80877102, pid, secret key. */
  cancelRequest: (pid: number, key: Buffer = Buffer.from([1, 2, 3, 4])): Buffer =>
    w().int32(80877102).int32(pid).bytes(key).untyped(),
  query: (text: string): Buffer => w().cstring(text).typed('Q'),
  parse: (name: string, text: string, types: number[] = []): Buffer => {
    const b = w().cstring(name).cstring(text).int16(types.length);
    for (const t of types) b.int32(t);
    return b.typed('P');
  },
  bind(
    portal: string,
    statement: string,
    params: (Buffer | string | null)[] = [],
    formats: number[] = [],
  ): Buffer {
    const b = w().cstring(portal).cstring(statement).int16(formats.length);
    for (const f of formats) b.int16(f);
    b.int16(params.length);
    for (const p of params) {
      if (p === null) b.int32(-1);
      else {
        const v = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
        b.int32(v.length).bytes(v);
      }
    }
    return b.int16(0).typed('B');
  },
  execute: (portal = '', maxRows = 0): Buffer => w().cstring(portal).int32(maxRows).typed('E'),
  describe: (kind: 'S' | 'P', name = ''): Buffer =>
    w().int8(kind.charCodeAt(0)).cstring(name).typed('D'),
  close: (kind: 'S' | 'P', name = ''): Buffer =>
    w().int8(kind.charCodeAt(0)).cstring(name).typed('C'),
  sync: (): Buffer => w().typed('S'),
  flush: (): Buffer => w().typed('H'),
  terminate: (): Buffer => w().typed('X'),
  copyData: (data: Buffer | string): Buffer =>
    w()
      .bytes(typeof data === 'string' ? Buffer.from(data) : data)
      .typed('d'),
  copyDone: (): Buffer => w().typed('c'),
  copyFail: (message: string): Buffer => w().cstring(message).typed('f'),
  /** PasswordMessage / SASLResponse: 'p' with an opaque body. */
  password: (secret: string): Buffer => w().cstring(secret).typed('p'),
  /** FunctionCall: oid, arg format codes, args (Int32 len + bytes), result format. */
  functionCall(oid: number, args: Buffer[]): Buffer {
    const b = w().int32(oid).int16(0).int16(args.length);
    for (const a of args) b.int32(a.length).bytes(a);
    return b.int16(0).typed('F');
  },
};

/** Backend messages (protocol-message-formats). */
export const be = {
  authOk: (): Buffer => w().int32(0).typed('R'),
  authCleartext: (): Buffer => w().int32(3).typed('R'),
  authSasl: (mechanisms: string[]): Buffer => {
    const b = w().int32(10);
    for (const m of mechanisms) b.cstring(m);
    return b.int8(0).typed('R');
  },
  keyData: (pid: number, secret = 0x01020304): Buffer => w().int32(pid).int32(secret).typed('K'),
  parameterStatus: (name: string, value: string): Buffer =>
    w().cstring(name).cstring(value).typed('S'),
  ready: (status: 'I' | 'T' | 'E' = 'I'): Buffer => w().int8(status.charCodeAt(0)).typed('Z'),
  commandComplete: (tag: string): Buffer => w().cstring(tag).typed('C'),
  /** ErrorResponse: (field code, string)* \0 — protocol-error-fields. */
  error(code: string, message: string, severity = 'ERROR', type = 'E'): Buffer {
    return w()
      .int8(0x53)
      .cstring(severity)
      .int8(0x56)
      .cstring(severity)
      .int8(0x43)
      .cstring(code)
      .int8(0x4d)
      .cstring(message)
      .int8(0)
      .typed(type);
  },
  notice: (message: string): Buffer => be.error('00000', message, 'NOTICE', 'N'),
  /** RowDescription with `count` int4 columns named c0.. */
  rowDescription(count: number): Buffer {
    const b = w().int16(count);
    for (let i = 0; i < count; i++)
      b.cstring(`c${i}`).int32(0).int16(0).int32(23).int16(4).int32(-1).int16(0);
    return b.typed('T');
  },
  dataRow(values: (string | null)[]): Buffer {
    const b = w().int16(values.length);
    for (const v of values) {
      if (v === null) b.int32(-1);
      else b.int32(Buffer.byteLength(v)).bytes(Buffer.from(v));
    }
    return b.typed('D');
  },
  emptyQuery: (): Buffer => w().typed('I'),
  parseComplete: (): Buffer => w().typed('1'),
  bindComplete: (): Buffer => w().typed('2'),
  closeComplete: (): Buffer => w().typed('3'),
  noData: (): Buffer => w().typed('n'),
  portalSuspended: (): Buffer => w().typed('s'),
  parameterDescription: (types: number[]): Buffer => {
    const b = w().int16(types.length);
    for (const t of types) b.int32(t);
    return b.typed('t');
  },
  copyIn: (columns: number): Buffer => copyResponse('G', columns),
  copyOut: (columns: number): Buffer => copyResponse('H', columns),
  copyData: (data: string): Buffer => w().bytes(Buffer.from(data)).typed('d'),
  copyDone: (): Buffer => w().typed('c'),
  functionResult: (value: Buffer): Buffer => w().int32(value.length).bytes(value).typed('V'),
  negotiate: (minor: number, options: string[]): Buffer => {
    const b = w().int32(minor).int32(options.length);
    for (const o of options) b.cstring(o);
    return b.typed('v');
  },
};

function copyResponse(type: string, columns: number): Buffer {
  const b = w().int8(0).int16(columns);
  for (let i = 0; i < columns; i++) b.int16(0);
  return b.typed(type);
}

/** The ways every decoder case is fed: whole, byte by byte, and split at every offset. */
export function* chunkings(
  bytes: Buffer,
): Generator<{ readonly name: string; readonly chunks: Buffer[] }> {
  yield { name: 'whole', chunks: [bytes] };
  const single: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) single.push(bytes.subarray(i, i + 1));
  yield { name: 'byte by byte', chunks: single };
  for (let i = 1; i < bytes.length; i++) {
    yield { name: `split at ${i}`, chunks: [bytes.subarray(0, i), bytes.subarray(i)] };
  }
}
