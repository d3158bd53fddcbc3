/**
 * The node's Ed25519 checkpoint key, kept in `<dataDir>/node.key` as a C2SP signer key string
 * (`PRIVATE+KEY+<name>+<id>+<base64>`), readable by the owner only. Key material is never
 * logged and never put in an error message.
 */
import { randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import { PortwardenError } from '../errors.js';
import { formatSignerKey, formatVerifierKey, parseSignerKey } from './note.js';
import type { NoteSigner } from './note.js';

/** The node's signing identity. */
export interface NodeKey {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly publicKeyRaw: Buffer;
  /** 8 lowercase hex digits (C2SP key ID). */
  readonly keyId: string;
  /** The public `<name>+<id>+<base64>` string to give verifiers. */
  readonly verifierKey: string;
  readonly signer: NoteSigner;
}

/** The file name of the node key inside the data directory. */
export const NODE_KEY_FILE = 'node.key';
const MAX_KEY_FILE_SIZE = 4096;

/**
 * Loads `<dataDir>/node.key`, creating it (mode 0600, atomically, never overwriting) when it
 * does not exist. Refuses a key readable by group or others, or made for another node name.
 */
export function loadOrCreateNodeKey(dataDir: string, name: string): NodeKey {
  const path = join(dataDir, NODE_KEY_FILE);
  const existing = readKeyFile(path);
  if (existing !== null) return toNodeKey(existing, name, path);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  createKeyFile(path, formatSignerKey(name, randomBytes(32)) + '\n');
  const created = readKeyFile(path);
  if (created === null) throw keyError(`${path} vanished after it was created`);
  return toNodeKey(created, name, path);
}

function toNodeKey(content: string, name: string, path: string): NodeKey {
  const signer = parseSignerKey(content.trim());
  if (signer.name !== name) {
    throw keyError(`${path} is the key of node ${signer.name}, not ${name}`);
  }
  return {
    name,
    privateKey: signer.privateKey,
    publicKeyRaw: signer.publicKeyRaw,
    keyId: signer.keyId,
    verifierKey: formatVerifierKey(name, signer.publicKeyRaw),
    signer,
  };
}

/** The key file's text, or null when there is none; checks type and mode on the open file. */
function readKeyFile(path: string): string | null {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    if (isErrno(err, 'ENOENT')) return null;
    throw keyError(`cannot open ${path}`, err);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw keyError(`${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw keyError(`${path} has mode ${mode}, readable beyond its owner; run chmod 600 on it`);
    }
    if (st.size > MAX_KEY_FILE_SIZE) throw keyError(`${path} is too large to be a key`);
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes a temporary file born with mode 0600, then hard-links it into place: link() fails
 * rather than replace a key another process created meanwhile, and readers never see a
 * partly written key.
 */
function createKeyFile(path: string, content: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(tmp, flags, 0o600);
  try {
    fchmodSync(fd, 0o600); // the umask can only narrow the mode, but be explicit
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(tmp, path);
  } catch (err) {
    if (!isErrno(err, 'EEXIST')) throw keyError(`cannot create ${path}`, err);
  } finally {
    unlinkSync(tmp);
  }
}

function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && 'code' in err && err.code === code;
}

function keyError(detail: string, cause?: unknown): PortwardenError {
  return new PortwardenError('PW_ERR_KEY', { detail }, cause === undefined ? {} : { cause });
}
