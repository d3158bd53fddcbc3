/**
 * C2SP tlog-checkpoint bodies (c2sp.org/tlog-checkpoint) inside signed notes: origin line,
 * decimal tree size, base64 root hash, optional extension lines. Our origin is the node name.
 */
import { PortwardenError } from '../errors.js';
import { HASH_SIZE } from './merkle.js';
import { openNote, signNote, strictBase64 } from './note.js';
import type { NoteSigner, NoteVerifier } from './note.js';

/** The signed statement "the log `origin` had `size` leaves with root `root`". */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  readonly extensions: readonly string[];
}

/** A checkpoint whose signature was checked, with the key that verified it. */
export interface OpenedCheckpoint extends Checkpoint {
  readonly keyName: string;
  readonly keyId: string;
}

/** Why a checkpoint note was refused. */
export type CheckpointFailure = {
  readonly ok: false;
  readonly reason: 'malformed' | 'unknown-key' | 'bad-signature' | 'wrong-origin';
  readonly detail: string;
};

export type CheckpointOpenResult = ({ readonly ok: true } & OpenedCheckpoint) | CheckpointFailure;

// Decimal without leading zeros, at most 16 digits (sizes stay below 2^53).
const SIZE_PATTERN = /^(0|[1-9][0-9]{0,15})$/;

/** Formats a checkpoint body; throws PW_ERR_INTERNAL on values that would not parse back. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root, extensions } = checkpoint;
  const lines = [origin, String(size), root.toString('base64'), ...extensions];
  const text = lines.join('\n') + '\n';
  const parsed = parseCheckpoint(text);
  if (!parsed.ok)
    throw new PortwardenError('PW_ERR_INTERNAL', { detail: `checkpoint: ${parsed.detail}` });
  return text;
}

/** Parses a checkpoint body strictly — tlog-checkpoint §Note text. */
export function parseCheckpoint(
  text: string,
): ({ readonly ok: true } & Checkpoint) | { readonly ok: false; readonly detail: string } {
  if (!text.endsWith('\n')) return { ok: false, detail: 'checkpoint must end with a newline' };
  const lines = text.slice(0, -1).split('\n');
  const [origin, sizeText, rootText, ...extensions] = lines;
  if (origin === undefined || origin.length === 0) return { ok: false, detail: 'empty origin' };
  if (sizeText === undefined || !SIZE_PATTERN.test(sizeText)) {
    return { ok: false, detail: 'tree size is not a decimal count' };
  }
  const size = Number(sizeText);
  if (!Number.isSafeInteger(size)) return { ok: false, detail: 'tree size is too large' };
  const root = rootText === undefined ? null : strictBase64(rootText);
  if (root === null || root.length !== HASH_SIZE) {
    return { ok: false, detail: 'root is not a base64 SHA-256 hash' };
  }
  for (const line of extensions) {
    if (line.length === 0) return { ok: false, detail: 'empty extension line' };
  }
  return { ok: true, origin, size, root, extensions };
}

/** Signs a checkpoint of `size` leaves and `root` with the node key; returns the note text. */
export function makeSignedCheckpoint(args: {
  readonly origin: string;
  readonly size: number;
  readonly root: Buffer;
  readonly key: NoteSigner;
  readonly extensions?: readonly string[];
}): string {
  const body = formatCheckpoint({
    origin: args.origin,
    size: args.size,
    root: args.root,
    extensions: args.extensions ?? [],
  });
  return signNote(body, args.key);
}

/**
 * Opens a signed checkpoint against known verifier keys (and, when given, the expected
 * origin). The reported key prefers one named after the origin, the tlog convention.
 */
export function openCheckpoint(
  note: string,
  verifierKeys: readonly (NoteVerifier | string)[],
  expectedOrigin?: string,
): CheckpointOpenResult {
  const opened = openNote(note, verifierKeys);
  if (!opened.ok) return { ok: false, reason: opened.reason, detail: opened.detail };
  const parsed = parseCheckpoint(opened.text);
  if (!parsed.ok) return { ok: false, reason: 'malformed', detail: parsed.detail };
  if (expectedOrigin !== undefined && parsed.origin !== expectedOrigin) {
    return {
      ok: false,
      reason: 'wrong-origin',
      detail: `checkpoint origin ${JSON.stringify(parsed.origin)}, expected ${JSON.stringify(expectedOrigin)}`,
    };
  }
  const key = opened.verified.find((v) => v.name === parsed.origin) ?? opened.verified[0];
  if (key === undefined) return { ok: false, reason: 'unknown-key', detail: 'no verified key' };
  return {
    ok: true,
    origin: parsed.origin,
    size: parsed.size,
    root: parsed.root,
    extensions: parsed.extensions,
    keyName: key.name,
    keyId: key.keyId,
  };
}
