/**
 * SCRAM-SHA-256-PLUS pieces: `tls-server-end-point` data (RFC 5929 §4.1) for certificates the
 * real `openssl` signs with various algorithms, and the server's check of the client's gs2
 * flag and binding data (RFC 5802 §6).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  endPointHash,
  tlsServerEndPoint,
} from '../../../src/protocols/postgres/channel-binding.js';
import {
  ScramClient,
  ScramServer,
  scramVerifierFor,
  type ChannelBinding,
} from '../../../src/protocols/postgres/scram.js';
import { run } from '../../helpers/run.js';

let dir: string;

/** DER of a self-signed certificate made by openssl with these key/digest options. */
async function cert(name: string, args: readonly string[]): Promise<Buffer> {
  const out = join(dir, `${name}.pem`);
  await run('openssl', [
    'req',
    '-x509',
    ...args,
    '-nodes',
    '-subj',
    '/CN=gw',
    '-days',
    '1',
    '-keyout',
    join(dir, `${name}.key`),
    '-out',
    out,
  ]);
  return new X509Certificate(readFileSync(out)).raw;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'pw-cb-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('tls-server-end-point', () => {
  it('hashes with the signature hash, SHA-256 for SHA-1, none for Ed25519', async () => {
    const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1'];
    const cases: [string, readonly string[], string | null][] = [
      ['ec256', [...ec, '-sha256'], 'sha256'],
      ['ec384', [...ec, '-sha384'], 'sha384'],
      ['rsa1', ['-newkey', 'rsa:2048', '-sha1'], 'sha256'],
      ['rsa512', ['-newkey', 'rsa:2048', '-sha512'], 'sha512'],
      ['pss', ['-newkey', 'rsa:2048', '-sigopt', 'rsa_padding_mode:pss', '-sha384'], 'sha384'],
      ['ed', ['-newkey', 'ed25519'], null],
    ];
    for (const [name, args, hash] of cases) {
      const der = await cert(name, args);
      expect(endPointHash(der), name).toBe(hash);
      const data = tlsServerEndPoint(der);
      expect(data, name).toEqual(hash === null ? null : createHash(hash).update(der).digest());
    }
  });

  it('answers null for bytes that are no certificate', () => {
    for (const junk of [
      Buffer.alloc(0),
      Buffer.from([0x30]),
      Buffer.from([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
      Buffer.from([0x30, 0x03, 0x30, 0x01, 0x00]),
      Buffer.from('not a certificate'),
    ])
      expect(endPointHash(junk)).toBeNull();
  });
});

describe('SCRAM-SHA-256-PLUS', () => {
  const verifier = scramVerifierFor('tok-0123456789');
  const binding: ChannelBinding = { type: 'tls-server-end-point', data: Buffer.alloc(32, 7) };

  function exchange(
    server: ScramServer,
    client: ScramClient,
    mechanism: string,
  ): { first: boolean; final: boolean; reason: string } {
    const first = server.firstMessage(client.firstMessage(), mechanism);
    if (!first.ok) return { first: false, final: false, reason: first.reason };
    const answer = client.finalMessage(first.message);
    if (!answer.ok) throw new Error(answer.reason);
    const final = server.finalMessage(answer.message);
    return { first: true, final: final.ok, reason: final.ok ? '' : final.reason };
  }

  it('offers -PLUS first when binding is available, and accepts the same binding data', () => {
    const server = new ScramServer(verifier, undefined, binding);
    expect(server.mechanisms()).toEqual(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256']);
    expect(new ScramServer(verifier).mechanisms()).toEqual(['SCRAM-SHA-256']);
    const client = new ScramClient('tok-0123456789', undefined, '', binding);
    expect(client.firstMessage()).toMatch(/^p=tls-server-end-point,,n=,r=/);
    expect(exchange(server, client, 'SCRAM-SHA-256-PLUS')).toEqual({
      first: true,
      final: true,
      reason: '',
    });
  });

  it('refuses other binding data (a middlebox certificate) after the proof', () => {
    const server = new ScramServer(verifier, undefined, binding);
    const client = new ScramClient('tok-0123456789', undefined, '', {
      type: 'tls-server-end-point',
      data: Buffer.alloc(32, 8),
    });
    expect(exchange(server, client, 'SCRAM-SHA-256-PLUS')).toEqual({
      first: true,
      final: false,
      reason: 'channel binding does not match',
    });
  });

  it('refuses a flag that disagrees with the mechanism, and the "y" downgrade', () => {
    const server = (): ScramServer => new ScramServer(verifier, undefined, binding);
    const plain = (): ScramClient => new ScramClient('tok-0123456789');
    const bound = (): ScramClient => new ScramClient('tok-0123456789', undefined, '', binding);
    expect(exchange(server(), plain(), 'SCRAM-SHA-256-PLUS').reason).toBe(
      'SCRAM-SHA-256-PLUS selected without channel binding',
    );
    expect(exchange(server(), bound(), 'SCRAM-SHA-256').reason).toBe(
      'channel binding requested without SCRAM-SHA-256-PLUS',
    );
    expect(exchange(new ScramServer(verifier), bound(), 'SCRAM-SHA-256-PLUS').reason).toBe(
      'SCRAM-SHA-256-PLUS selected but not offered',
    );
    const downgrade = server().firstMessage('y,,n=,r=abc', 'SCRAM-SHA-256');
    expect(downgrade).toEqual({
      ok: false,
      reason: 'channel binding negotiation error (downgrade)',
    });
    // Without binding on offer, "y" is an honest client on a plain leg.
    expect(new ScramServer(verifier).firstMessage('y,,n=,r=abc').ok).toBe(true);
    // A plain client and no binding offered: as before.
    expect(exchange(server(), plain(), 'SCRAM-SHA-256').final).toBe(true);
  });
});
