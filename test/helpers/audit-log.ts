/**
 * Synthetic audit logs for verify tests, built without src/audit: bodies by template (canonical
 * key order, DESIGN §4), leaves and roots from the naive RFC 6962 oracle, checkpoints signed
 * with node:crypto and laid out by hand per C2SP signed-note / tlog-checkpoint.
 */
import { createHash, createPrivateKey, createPublicKey, sign } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { naiveLeaf, naiveRoot } from './audit-naive-merkle.js';

export interface TestRecord {
  sequence: number;
  body: string | null;
  leafHash: Buffer;
}

export interface TestKey {
  readonly name: string;
  readonly privateKey: KeyObject;
  readonly keyId: Buffer;
  readonly verifierKey: string;
}

/** An Ed25519 key from a fixed seed byte (RFC 8410 PKCS#8 header + seed). */
export function testKey(name: string, seedByte: number): TestKey {
  const der = Buffer.concat([
    Buffer.from('302e020100300506032b657004220420', 'hex'),
    Buffer.alloc(32, seedByte),
  ]);
  const privateKey = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const pub = createPublicKey(privateKey).export({ format: 'der', type: 'spki' }).subarray(12);
  const keyId = createHash('sha256')
    .update(Buffer.concat([Buffer.from(name), Buffer.from([0x0a, 0x01]), pub]))
    .digest()
    .subarray(0, 4);
  const verifierKey = `${name}+${keyId.toString('hex')}+${Buffer.concat([Buffer.from([1]), pub]).toString('base64')}`;
  return { name, privateKey, keyId, verifierKey };
}

/** A canonical-looking record body with `event.sequence` = seq. */
export function testBody(seq: number, query = `select ${seq}`): string {
  return (
    `{"@timestamp":"2026-11-22T10:15:02.${String(seq).padStart(9, '0')}Z",` +
    `"db":{"query":{"text":${JSON.stringify(query)}}},` +
    `"event":{"action":"db-query","category":["database"],"id":"id-${seq}","kind":"event","sequence":${seq},"type":["access"]},` +
    `"observer":{"id":"node-a"}}`
  );
}

export function testRecord(seq: number, body = testBody(seq)): TestRecord {
  return { sequence: seq, body, leafHash: naiveLeaf(Buffer.from(body, 'utf8')) };
}

/** A signed checkpoint note: origin, size, base64 root, blank line, em-dash signature line. */
export function testCheckpoint(key: TestKey, origin: string, size: number, root: Buffer): string {
  const text = `${origin}\n${size}\n${root.toString('base64')}\n`;
  const sig = sign(null, Buffer.from(text), key.privateKey);
  return `${text}\n\u2014 ${key.name} ${Buffer.concat([key.keyId, sig]).toString('base64')}\n`;
}

export function rootOf(records: readonly TestRecord[], size: number): Buffer {
  return naiveRoot(records.slice(0, size).map((r) => r.leafHash));
}

export interface TestLog {
  records: TestRecord[];
  checkpoints: { note: string }[];
  /** What the store claims as its size (defaults to records.length). */
  size?: number;
}

export function testLog(
  n: number,
  checkpointSizes: readonly number[],
  key: TestKey,
  origin = 'node-a',
): TestLog {
  const records = Array.from({ length: n }, (_, i) => testRecord(i));
  const checkpoints = checkpointSizes.map((s) => ({
    note: testCheckpoint(key, origin, s, rootOf(records, s)),
  }));
  return { records, checkpoints };
}
