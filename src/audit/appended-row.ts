/**
 * A record as the Recorder holds it: the row the store writes (columns taken from the
 * record as it is built, not parsed back from its body) and the record object behind it,
 * for the commit listeners of this process.
 */
import { bodyText, deriveColumnsInto, type BodyBytes, type EventRow } from '../store/index.js';
import type { EventInput, JsonObject, JsonValue } from './event.js';

/** The part of a record that is the same for every record of one connection. */
export interface RecordContext {
  /** Top-level fields merged into the record (listener, connection, source, upstream…). */
  readonly fields: JsonObject;
  readonly listener: string | null;
  readonly connectionId: string | null;
  readonly sourceIp: string | null;
  readonly sourcePort: number | null;
  readonly destinationIp: string | null;
  readonly destinationPort: number | null;
  readonly upstreamLocalIp: string | null;
  readonly upstreamLocalPort: number | null;
  readonly upstreamIp: string | null;
  readonly upstreamPort: number | null;
  readonly communityId: string | null;
  readonly user: string | null;
}

export const NO_CONTEXT: RecordContext = {
  fields: {},
  listener: null,
  connectionId: null,
  sourceIp: null,
  sourcePort: null,
  destinationIp: null,
  destinationPort: null,
  upstreamLocalIp: null,
  upstreamLocalPort: null,
  upstreamIp: null,
  upstreamPort: null,
  communityId: null,
  user: null,
};

/** The leaf hash of a row whose leaf the store's writer thread will make (length 0). */
export const LEAF_LATER: Buffer = Buffer.alloc(0);

/**
 * A row appended in this process, holding the record object behind it so that commit
 * listeners (detectors) read fields without parsing the canonical body again. A private
 * field rather than a WeakMap from row to record: the WeakMap's entry cost ~0.9 µs of CPU
 * per record (insertion plus the collector's ephemeron work), and a private field is no
 * enumerable member, so the row compares and copies as the plain EventRow it is.
 *
 * Its leaf hash is set when it is committed, if not before (LEAF_LATER until then): a
 * batch committed on the store's writer thread is hashed there. No row leaves the Recorder
 * before it is committed.
 *
 * Its body is either a string or bytes in a shared chunk (store/body-arena.ts), decoded
 * the first time `body` is read: a getter, so a spread of the row (`{ ...row }`) leaves
 * the body out; copy rows member by member.
 */
export class AppendedRow implements EventRow {
  readonly sequence: number;
  readonly timestampNs: bigint;
  readonly id: string;
  readonly action: string;
  readonly outcome: string | null;
  readonly listener: string | null;
  readonly connectionId: string | null;
  readonly sourceIp: string | null;
  readonly sourcePort: number | null;
  readonly destinationIp: string | null;
  readonly destinationPort: number | null;
  readonly upstreamLocalIp: string | null;
  readonly upstreamLocalPort: number | null;
  readonly upstreamIp: string | null;
  readonly upstreamPort: number | null;
  readonly user: string | null;
  readonly communityId: string | null;
  readonly text: string | null;
  // Assigned by deriveColumnsInto in the constructor.
  readonly upstreamCommunityId!: string | null;
  readonly rule!: string | null;
  readonly policyVersion!: string | null;
  readonly dbNamespace!: string | null;
  readonly operation!: string | null;
  readonly statementClass!: string | null;
  readonly status!: string | null;
  readonly node!: string | null;
  leafHash: Buffer;
  readonly #record: Readonly<JsonObject>;
  #text: string | undefined;
  /** The body's bytes until its text is decoded (null for a body given as text). */
  #bytes: BodyBytes | null;

  constructor(
    sequence: number,
    timestampNs: bigint,
    id: string,
    event: EventInput['event'],
    ctx: RecordContext,
    record: Readonly<JsonObject>,
    body: string | BodyBytes,
    leafHash: Buffer,
  ) {
    this.sequence = sequence;
    this.timestampNs = timestampNs;
    this.id = id;
    this.action = event.action;
    this.outcome = event.outcome ?? null;
    this.listener = ctx.listener;
    this.connectionId = ctx.connectionId;
    this.sourceIp = ctx.sourceIp;
    this.sourcePort = ctx.sourcePort;
    this.destinationIp = ctx.destinationIp;
    this.destinationPort = ctx.destinationPort;
    this.upstreamLocalIp = ctx.upstreamLocalIp;
    this.upstreamLocalPort = ctx.upstreamLocalPort;
    this.upstreamIp = ctx.upstreamIp;
    this.upstreamPort = ctx.upstreamPort;
    this.user = pickUser(record) ?? ctx.user;
    this.communityId = ctx.communityId;
    this.text = pickText(record);
    deriveColumnsInto(this, record);
    this.leafHash = leafHash;
    this.#record = record;
    if (typeof body === 'string') {
      this.#text = body;
      this.#bytes = null;
    } else {
      this.#text = undefined;
      this.#bytes = body;
    }
  }

  get body(): string {
    if (this.#text === undefined) {
      this.#text = bodyText(this.#bytes as BodyBytes);
      // The chunk holds other rows' bodies too: a row kept long does not keep it.
      this.#bytes = null;
    }
    return this.#text;
  }

  /** The body's bytes in their chunk, while not yet decoded (see store/body-arena.ts). */
  static bodyBytesOf(row: AppendedRow): BodyBytes | null {
    return row.#bytes;
  }

  static recordOf(row: EventRow): Readonly<JsonObject> | undefined {
    return #record in row ? row.#record : undefined;
  }
}

/**
 * The record object of a row this process's Recorder appended, if still in memory (not for
 * a copy of the row). Never mutate one.
 */
export function recordObjectOf(row: EventRow): Readonly<JsonObject> | undefined {
  return AppendedRow.recordOf(row);
}

function pickUser(record: Record<string, JsonValue | undefined>): string | null {
  const user = record.user;
  if (user && typeof user === 'object' && !Array.isArray(user) && typeof user.name === 'string')
    return user.name;
  return null;
}

function pickText(record: Record<string, JsonValue | undefined>): string | null {
  const db = record.db;
  if (db && typeof db === 'object' && !Array.isArray(db)) {
    const q = db.query;
    if (q && typeof q === 'object' && !Array.isArray(q) && typeof q.text === 'string')
      return q.text;
  }
  const redis = record.redis;
  if (
    redis &&
    typeof redis === 'object' &&
    !Array.isArray(redis) &&
    typeof redis.command === 'string'
  ) {
    return typeof redis.key === 'string' ? `${redis.command} ${redis.key}` : redis.command;
  }
  const url = record.url;
  if (url && typeof url === 'object' && !Array.isArray(url) && typeof url.path === 'string')
    return url.path;
  return null;
}
