import type { JsonValue } from '../../audit/event.js';
import { ProtocolError } from '../../errors.js';
import { PacketReader } from './reader.js';

/** Field types of bound parameters (Binary Protocol Value, enum_field_types). */
const FieldType = {
  Tiny: 0x01, // MYSQL_TYPE_TINY
  Short: 0x02, // MYSQL_TYPE_SHORT
  Long: 0x03, // MYSQL_TYPE_LONG
  Float: 0x04, // MYSQL_TYPE_FLOAT
  Double: 0x05, // MYSQL_TYPE_DOUBLE
  Null: 0x06, // MYSQL_TYPE_NULL
  Timestamp: 0x07, // MYSQL_TYPE_TIMESTAMP
  LongLong: 0x08, // MYSQL_TYPE_LONGLONG
  Int24: 0x09, // MYSQL_TYPE_INT24
  Date: 0x0a, // MYSQL_TYPE_DATE
  Time: 0x0b, // MYSQL_TYPE_TIME
  DateTime: 0x0c, // MYSQL_TYPE_DATETIME
  Year: 0x0d, // MYSQL_TYPE_YEAR
} as const;

const UNSIGNED_FLAG = 0x80;
/** Bound values are kept only this long in a record. */
export const MAX_VALUE_CHARS = 256;
/** COM_STMT_EXECUTE: command, statement id, flags, iteration count. */
const EXECUTE_HEADER = 1 + 4 + 1 + 4;

export interface DecodedParams {
  readonly values: JsonValue[];
  /** The type pairs in force (sent now, or remembered from an earlier execute). */
  readonly types: Buffer;
}

/**
 * Decodes the bound values of a COM_STMT_EXECUTE payload for the record; null when the
 * values cannot be read (types never sent, long data, malformed) — the server judges those.
 */
export function decodeExecuteParams(
  payload: Buffer,
  paramCount: number,
  previousTypes: Buffer | undefined,
): DecodedParams | null {
  if (paramCount === 0) return { values: [], types: Buffer.alloc(0) };
  try {
    const reader = new PacketReader(payload, 'COM_STMT_EXECUTE', EXECUTE_HEADER);
    const bitmapStart = reader.position();
    reader.skip((paramCount + 7) >> 3);
    let types = previousTypes;
    if (reader.int1() === 1) {
      const start = reader.position();
      reader.skip(paramCount * 2);
      types = Buffer.from(payload.subarray(start, start + paramCount * 2));
    }
    if (types === undefined || types.length !== paramCount * 2) return null;
    const values: JsonValue[] = [];
    for (let i = 0; i < paramCount; i += 1) {
      const isNull = ((payload[bitmapStart + (i >> 3)] ?? 0) >> (i & 7)) & 1;
      const type = types[i * 2] ?? 0;
      if (isNull === 1 || type === FieldType.Null) values.push(null);
      else values.push(readValue(reader, type, ((types[i * 2 + 1] ?? 0) & UNSIGNED_FLAG) !== 0));
    }
    return { values, types };
  } catch (err) {
    if (err instanceof ProtocolError) return null;
    throw err;
  }
}

function readValue(reader: PacketReader, type: number, unsigned: boolean): JsonValue {
  switch (type) {
    case FieldType.Tiny: {
      const v = reader.int1();
      return unsigned ? v : (v << 24) >> 24;
    }
    case FieldType.Short:
    case FieldType.Year: {
      const v = reader.int2();
      return unsigned || type === FieldType.Year ? v : (v << 16) >> 16;
    }
    case FieldType.Long:
    case FieldType.Int24: {
      const v = reader.int4();
      return unsigned ? v : v | 0;
    }
    case FieldType.LongLong:
      return readInt64(reader, unsigned);
    case FieldType.Float:
      return reader.float4();
    case FieldType.Double:
      return reader.float8();
    case FieldType.Date:
    case FieldType.DateTime:
    case FieldType.Timestamp:
      return readDateTime(reader);
    case FieldType.Time:
      return readTime(reader);
    default: {
      const text = reader.lenencString();
      return text.length > MAX_VALUE_CHARS ? `${text.slice(0, MAX_VALUE_CHARS)}…` : text;
    }
  }
}

function readInt64(reader: PacketReader, unsigned: boolean): JsonValue {
  const value = reader.bigint8(unsigned);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER)
    ? Number(value)
    : value.toString();
}

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

/** Binary DATE/DATETIME/TIMESTAMP: length 0, 4, 7 or 11. */
function readDateTime(reader: PacketReader): string {
  const length = reader.int1();
  if (length === 0) return '0000-00-00 00:00:00';
  const date = `${pad(reader.int2(), 4)}-${pad(reader.int1())}-${pad(reader.int1())}`;
  if (length < 7) return date;
  const time = `${pad(reader.int1())}:${pad(reader.int1())}:${pad(reader.int1())}`;
  if (length < 11) return `${date} ${time}`;
  return `${date} ${time}.${pad(reader.int4(), 6)}`;
}

/** Binary TIME: length 0, 8 or 12. */
function readTime(reader: PacketReader): string {
  const length = reader.int1();
  if (length === 0) return '00:00:00';
  const negative = reader.int1() === 1;
  const days = reader.int4();
  const hours = days * 24 + reader.int1();
  const time = `${negative ? '-' : ''}${pad(hours)}:${pad(reader.int1())}:${pad(reader.int1())}`;
  return length < 12 ? time : `${time}.${pad(reader.int4(), 6)}`;
}
