/**
 * The shipped messages. A record message is one JSON header line, a newline, then the
 * record's canonical body as stored (canonical JSON never contains a raw newline, so the
 * first newline ends the header); the body is not re-escaped into the header. A record
 * whose body was pruned ships its leaf hash alone. A `checkpoint` record carries the
 * signed note of the checkpoint it announces, so the collector checks the root at exactly
 * that tree size. Checkpoint messages carry the signed note alone.
 */
import { HASH_SIZE } from '../audit/integrity.js';

export const WIRE_VERSION = 1;

/** One committed record of one node. */
export interface ShippedRecord {
  readonly node: string;
  readonly sequence: number;
  /** The record's time as stored (its body says the same; needed when the body was pruned). */
  readonly timestampNs: bigint;
  readonly leafHash: Buffer;
  /** Canonical JSON; null when the node pruned it. */
  readonly body: string | null;
  /** The signed note, on `checkpoint` records only. */
  readonly note: string | null;
}

/** One signed checkpoint of one node. */
export interface ShippedCheckpoint {
  readonly node: string;
  readonly size: number;
  readonly note: string;
}

export type ShippedMessage =
  | ({ readonly kind: 'record' } & ShippedRecord)
  | ({ readonly kind: 'checkpoint' } & ShippedCheckpoint);

const NEWLINE = 0x0a;
const MAX_HEADER = 64 * 1024;

export function encodeRecord(r: ShippedRecord): Uint8Array {
  const header = JSON.stringify({
    v: WIRE_VERSION,
    k: 'r',
    node: r.node,
    seq: r.sequence,
    ts: r.timestampNs.toString(),
    leaf: r.leafHash.toString('base64'),
    ...(r.body === null ? { pruned: true } : {}),
    ...(r.note !== null ? { note: r.note } : {}),
  });
  return Buffer.from(r.body === null ? `${header}\n` : `${header}\n${r.body}`, 'utf8');
}

export function encodeCheckpoint(c: ShippedCheckpoint): Uint8Array {
  const header = JSON.stringify({ v: WIRE_VERSION, k: 'c', node: c.node, size: c.size });
  return Buffer.from(`${header}\n${c.note}`, 'utf8');
}

/** Decodes a message; a string says why it is malformed (never throws). */
export function decodeMessage(data: Uint8Array): ShippedMessage | string {
  const buf = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  const nl = buf.indexOf(NEWLINE);
  if (nl < 0 || nl > MAX_HEADER) return 'no header line';
  let header: unknown;
  try {
    header = JSON.parse(buf.toString('utf8', 0, nl));
  } catch {
    return 'header is not JSON';
  }
  if (typeof header !== 'object' || header === null) return 'header is not an object';
  const h = header as Record<string, unknown>;
  if (h.v !== WIRE_VERSION) return `unknown wire version ${String(h.v)}`;
  if (typeof h.node !== 'string' || h.node.length === 0) return 'no node';
  const rest = buf.toString('utf8', nl + 1);
  if (h.k === 'c') {
    if (!isCount(h.size)) return 'bad checkpoint size';
    return { kind: 'checkpoint', node: h.node, size: h.size, note: rest };
  }
  if (h.k !== 'r') return 'unknown message kind';
  if (!isCount(h.seq)) return 'bad sequence';
  if (typeof h.ts !== 'string' || !/^[0-9]{1,20}$/.test(h.ts)) return 'bad timestamp';
  if (typeof h.leaf !== 'string') return 'no leaf hash';
  const leafHash = Buffer.from(h.leaf, 'base64');
  if (leafHash.length !== HASH_SIZE) return 'leaf hash is not 32 bytes';
  if (h.note !== undefined && typeof h.note !== 'string') return 'bad note';
  const pruned = h.pruned === true;
  if (pruned && rest.length > 0) return 'pruned record with a body';
  return {
    kind: 'record',
    node: h.node,
    sequence: h.seq,
    timestampNs: BigInt(h.ts),
    leafHash,
    body: pruned ? null : rest,
    note: typeof h.note === 'string' ? h.note : null,
  };
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** The subject token of a node: subjects split on `.`, node names may contain one. */
export function nodeToken(node: string): string {
  return node.replaceAll('.', '_');
}

export function recordsSubject(prefix: string, node: string): string {
  return `${prefix}.${nodeToken(node)}.records`;
}

export function checkpointsSubject(prefix: string, node: string): string {
  return `${prefix}.${nodeToken(node)}.checkpoints`;
}
