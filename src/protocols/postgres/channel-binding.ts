/**
 * `tls-server-end-point` channel binding data (RFC 5929 §4.1), what SCRAM-SHA-256-PLUS binds
 * the sign-in to: the hash of the certificate the gateway presented on the client leg, with
 * the hash of the certificate's own signature algorithm — except that MD5 and SHA-1 become
 * SHA-256. A client behind a TLS-terminating middlebox hashes the middlebox's certificate
 * instead, and its proof no longer matches. Read from the certificate's DER with a minimal,
 * bounded reader: Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signature }.
 */
import { createHash } from 'node:crypto';

export const TLS_SERVER_END_POINT = 'tls-server-end-point';

type Hash = 'sha224' | 'sha256' | 'sha384' | 'sha512';

/** Signature algorithm OIDs → the hash RFC 5929 asks for. */
const SIGNATURE_HASH: Readonly<Record<string, Hash>> = {
  '1.2.840.113549.1.1.4': 'sha256', // md5WithRSAEncryption
  '1.2.840.113549.1.1.5': 'sha256', // sha1WithRSAEncryption
  '1.2.840.113549.1.1.14': 'sha224',
  '1.2.840.113549.1.1.11': 'sha256',
  '1.2.840.113549.1.1.12': 'sha384',
  '1.2.840.113549.1.1.13': 'sha512',
  '1.2.840.10045.4.1': 'sha256', // ecdsa-with-SHA1
  '1.2.840.10045.4.3.1': 'sha224',
  '1.2.840.10045.4.3.2': 'sha256',
  '1.2.840.10045.4.3.3': 'sha384',
  '1.2.840.10045.4.3.4': 'sha512',
  '1.2.840.10040.4.3': 'sha256', // dsa-with-sha1
  '2.16.840.1.101.3.4.3.1': 'sha224', // dsa-with-sha224
  '2.16.840.1.101.3.4.3.2': 'sha256', // dsa-with-sha256
};

/** Digest OIDs, for RSASSA-PSS whose hash sits in the parameters. */
const DIGEST_HASH: Readonly<Record<string, Hash>> = {
  '1.3.14.3.2.26': 'sha256', // sha1
  '2.16.840.1.101.3.4.2.4': 'sha224',
  '2.16.840.1.101.3.4.2.1': 'sha256',
  '2.16.840.1.101.3.4.2.2': 'sha384',
  '2.16.840.1.101.3.4.2.3': 'sha512',
};
const RSASSA_PSS = '1.2.840.113549.1.1.10';

interface Tlv {
  readonly tag: number;
  /** Where the value starts and ends in the buffer. */
  readonly start: number;
  readonly end: number;
}

/** One DER TLV at `at`, within `limit`; null when malformed. */
function tlv(der: Buffer, at: number, limit: number): Tlv | null {
  if (at + 2 > limit) return null;
  const tag = der[at] ?? 0;
  let length = der[at + 1] ?? 0;
  let start = at + 2;
  if (length & 0x80) {
    const bytes = length & 0x7f;
    if (bytes === 0 || bytes > 4 || start + bytes > limit) return null;
    length = 0;
    for (let i = 0; i < bytes; i++) length = length * 256 + (der[start + i] ?? 0);
    start += bytes;
  }
  const end = start + length;
  return end > limit ? null : { tag, start, end };
}

function oidText(bytes: Buffer): string | null {
  if (bytes.length === 0 || bytes.length > 64) return null;
  const first = bytes[0] ?? 0;
  const arc = Math.min(2, Math.floor(first / 40));
  const parts = [arc, first - 40 * arc];
  let value = 0;
  for (const b of bytes.subarray(1)) {
    value = value * 128 + (b & 0x7f);
    if (value > Number.MAX_SAFE_INTEGER / 128) return null;
    if (!(b & 0x80)) {
      parts.push(value);
      value = 0;
    }
  }
  return parts.join('.');
}

const SEQUENCE = 0x30;
const OID = 0x06;

/** The hash RFC 5929 names for a certificate (DER), or null when it names none (Ed25519…). */
export function endPointHash(der: Buffer): Hash | null {
  const cert = tlv(der, 0, der.length);
  if (cert === null || cert.tag !== SEQUENCE) return null;
  const tbs = tlv(der, cert.start, cert.end);
  if (tbs === null || tbs.tag !== SEQUENCE) return null;
  const algorithm = tlv(der, tbs.end, cert.end);
  if (algorithm === null || algorithm.tag !== SEQUENCE) return null;
  const oid = tlv(der, algorithm.start, algorithm.end);
  if (oid === null || oid.tag !== OID) return null;
  const name = oidText(der.subarray(oid.start, oid.end));
  if (name === null) return null;
  if (name !== RSASSA_PSS) return SIGNATURE_HASH[name] ?? null;
  // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, … }
  const params = tlv(der, oid.end, algorithm.end);
  if (params === null || params.tag !== SEQUENCE) return 'sha256';
  const first = tlv(der, params.start, params.end);
  if (first === null || first.tag !== 0xa0) return 'sha256';
  const hashAlg = tlv(der, first.start, first.end);
  if (hashAlg === null || hashAlg.tag !== SEQUENCE) return null;
  const hashOid = tlv(der, hashAlg.start, hashAlg.end);
  if (hashOid === null || hashOid.tag !== OID) return null;
  const hashName = oidText(der.subarray(hashOid.start, hashOid.end));
  return hashName === null ? null : (DIGEST_HASH[hashName] ?? null);
}

/** The `tls-server-end-point` binding data for the gateway's certificate, or null. */
export function tlsServerEndPoint(der: Buffer): Buffer | null {
  const hash = endPointHash(der);
  return hash === null ? null : createHash(hash).update(der).digest();
}
