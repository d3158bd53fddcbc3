import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortwardenError } from '../../../src/errors.js';
import { communityId, formatIp, ipToBytes } from '../../../src/gateway/community-id.js';

// Vectors: corelight community-id-spec v1 as quoted in /work/shared/reference/vectors.md,
// and Zeek's testing/btest/bifs/community_id test (seed 1 UDP, ICMP and the IPv6 ICMPv6 flow;
// Zeek's conn_id already holds the ICMP "port equivalents": type and counterpart type/code).
const V6_A = 'fe80:0001:0203:0405:0607:0809:0A0B:0C0D';
const V6_B = 'fe80:1011:1213:1415:1617:1819:1A1B:1C1D';
const VECTORS = [
  {
    flow: { saddr: '1.2.3.4', daddr: '5.6.7.8', sport: 1122, dport: 3344 },
    id: '1:wCb3OG7yAFWelaUydu0D+125CLM=',
  },
  {
    flow: { saddr: '1.2.3.4', daddr: '5.6.7.8', sport: 1122, dport: 3344, seed: 1 },
    id: '1:HhA1B+6CoLbiKPEs5nhNYN4XWfk=',
  },
  {
    flow: { saddr: '1.2.3.4', daddr: '5.6.7.8', sport: 1122, dport: 3344, proto: 17 },
    id: '1:0Mu9InQx6z4ZiCZM/7HXi2WMhOg=',
  },
  {
    flow: { saddr: '1.2.3.4', daddr: '5.6.7.8', sport: 1122, dport: 3344, proto: 17, seed: 1 },
    id: '1:OShq+iKDAMVouh/4bMxB9Sz4amw=',
  },
  {
    flow: { saddr: '1.2.3.4', daddr: '5.6.7.8', sport: 8, dport: 0, proto: 1 },
    id: '1:crodRHL2FEsHjbv3UkRrfbs4bZ0=',
  },
  {
    flow: { saddr: '1.2.3.4', daddr: '5.6.7.8', sport: 8, dport: 0, proto: 1, seed: 1 },
    id: '1:9pr4ZGTICiuZoIh90RRYE2RyXpU=',
  },
  {
    flow: { saddr: V6_A, daddr: V6_B, sport: 128, dport: 129, proto: 58 },
    id: '1:0bf7hyMJUwt3fMED7z8LIfRpBeo=',
  },
  {
    flow: { saddr: V6_A, daddr: V6_B, sport: 128, dport: 129, proto: 58, seed: 1 },
    id: '1:IO27GQzPuCtNnwFvjWALMHu5tJE=',
  },
] as const;

/** Independent re-statement of the spec's byte layout, for flows without published vectors. */
function referenceId(
  s: Buffer,
  d: Buffer,
  sport: number,
  dport: number,
  proto: number,
  seed: number,
): string {
  const forward = Buffer.compare(s, d) < 0 || (Buffer.compare(s, d) === 0 && sport <= dport);
  const [a, b, pa, pb] = forward ? [s, d, sport, dport] : [d, s, dport, sport];
  const seedBytes = Buffer.from([seed >> 8, seed & 0xff]);
  const ports = Buffer.from([pa >> 8, pa & 0xff, pb >> 8, pb & 0xff]);
  const input = Buffer.concat([seedBytes, a, b, Buffer.from([proto, 0]), ports]);
  return '1:' + createHash('sha1').update(input).digest('base64');
}

describe('communityId', () => {
  it.each(VECTORS)('matches the published vector $id', ({ flow, id }) => {
    expect(communityId(flow)).toBe(id);
  });

  it.each(VECTORS)('gives the same ID in the reverse direction ($id)', ({ flow, id }) => {
    const reversed = {
      ...flow,
      saddr: flow.daddr,
      daddr: flow.saddr,
      sport: flow.dport,
      dport: flow.sport,
    };
    expect(communityId(reversed)).toBe(id);
  });

  it('treats ::ffff:-mapped IPv4 as IPv4 (Node dual-stack peers)', () => {
    const id = communityId({
      saddr: '::ffff:1.2.3.4',
      daddr: '::FFFF:5.6.7.8',
      sport: 1122,
      dport: 3344,
    });
    expect(id).toBe('1:wCb3OG7yAFWelaUydu0D+125CLM=');
  });

  it('orders equal addresses by port', () => {
    const a = communityId({ saddr: '10.0.0.1', daddr: '10.0.0.1', sport: 5000, dport: 80 });
    const b = communityId({ saddr: '10.0.0.1', daddr: '10.0.0.1', sport: 80, dport: 5000 });
    expect(a).toBe(b);
    const ten = Buffer.from([10, 0, 0, 1]);
    expect(a).toBe(referenceId(ten, ten, 80, 5000, 6, 0));
  });

  it('hashes IPv6 TCP flows with 16-byte addresses (checked against the re-stated layout)', () => {
    const s = Buffer.from('20010db8000000000000000000000001', 'hex');
    const d = Buffer.from('20010db8000000000000000000000002', 'hex');
    const id = communityId({
      saddr: '2001:db8::2',
      daddr: '2001:db8::1',
      sport: 5432,
      dport: 40000,
      seed: 7,
    });
    expect(id).toBe(referenceId(d, s, 5432, 40000, 6, 7));
    expect(id).not.toBe(referenceId(s, d, 5432, 40000, 6, 7));
  });

  it('omits ports for protocols without them', () => {
    const input = Buffer.from([0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 47, 0]);
    const expected = '1:' + createHash('sha1').update(input).digest('base64');
    expect(communityId({ saddr: '5.6.7.8', daddr: '1.2.3.4', sport: 0, dport: 0, proto: 47 })).toBe(
      expected,
    );
  });

  it('rejects addresses and numbers it cannot hash', () => {
    for (const bad of [
      { saddr: 'localhost', daddr: '1.2.3.4', sport: 1, dport: 2 },
      { saddr: '1.2.3.4', daddr: '1.2.3.4', sport: 65536, dport: 2 },
      { saddr: '1.2.3.4', daddr: '1.2.3.4', sport: 1, dport: 2, seed: -1 },
      { saddr: '1.2.3.4', daddr: 'fe80::1%eth0', sport: 1, dport: 2 },
    ]) {
      expect(() => communityId(bad)).toThrow(PortwardenError);
    }
  });

  it('property: matches the re-stated layout for random IPv4 and IPv6 flows', () => {
    const port = fc.integer({ min: 0, max: 0xffff });
    const pair = fc.oneof(fc.tuple(fc.ipV4(), fc.ipV4()), fc.tuple(fc.ipV6(), fc.ipV6()));
    const mappedPrefix = Buffer.from('00000000000000000000ffff', 'hex');
    const unmap = (b: Buffer): Buffer =>
      b.length === 16 && b.subarray(0, 12).equals(mappedPrefix) ? b.subarray(12) : b;
    fc.assert(
      fc.property(
        pair,
        port,
        port,
        fc.constantFrom(6, 17, 132),
        fc.integer({ min: 0, max: 0xffff }),
        ([sa, da], sp, dp, proto, seed) => {
          const s = ipToBytes(sa);
          const d = ipToBytes(da);
          expect(s, sa).not.toBeNull();
          expect(d, da).not.toBeNull();
          const s2 = unmap(s ?? Buffer.alloc(0));
          const d2 = unmap(d ?? Buffer.alloc(0));
          // A random IPv6 that happens to be ::ffff:-mapped next to a plain one mixes families.
          fc.pre(s2.length === d2.length);
          const expected = referenceId(s2, d2, sp, dp, proto, seed);
          expect(communityId({ saddr: sa, daddr: da, sport: sp, dport: dp, proto, seed })).toBe(
            expected,
          );
        },
      ),
    );
  });
});

describe('ipToBytes', () => {
  it.each([
    ['0.0.0.0', '00000000'],
    ['255.255.255.255', 'ffffffff'],
    ['::', '00000000000000000000000000000000'],
    ['::1', '00000000000000000000000000000001'],
    ['1::', '00010000000000000000000000000000'],
    ['2001:db8::8:800:200c:417a', '20010db80000000000080800200c417a'],
    ['::ffff:192.0.2.1', '00000000000000000000ffffc0000201'],
    ['1:2:3:4:5:6:7:8', '00010002000300040005000600070008'],
    ['1:2:3:4:5:6:1.2.3.4', '00010002000300040005000601020304'],
  ])('parses %s', (text, hex) => {
    expect(ipToBytes(text)?.toString('hex')).toBe(hex);
  });

  it.each([
    '',
    '1.2.3',
    '1.2.3.4.5',
    '01.2.3.4',
    '1.2.3.256',
    '1.2.3.-4',
    ' 1.2.3.4',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7',
    '1::2::3',
    ':1::',
    '1:2:3:4:5:6:7::8',
    '12345::',
    'g::',
    'fe80::1%eth0',
    '::1.2.3.4:5',
    '1.2.3.4::',
  ])('refuses %j', (text) => {
    expect(ipToBytes(text)).toBeNull();
  });
});

describe('formatIp', () => {
  it.each([
    ['01020304', '1.2.3.4'],
    ['00000000000000000000000000000000', '::'],
    ['00000000000000000000000000000001', '::1'],
    ['20010db8000000000000000000000001', '2001:db8::1'],
    ['20010db8000000010000000000000001', '2001:db8:0:1::1'],
    ['20010db8000000000001000000000001', '2001:db8::1:0:0:1'],
    ['20010db8000100010001000100010001', '2001:db8:1:1:1:1:1:1'],
    ['00000000000000000000ffff7f000001', '::ffff:127.0.0.1'],
  ])('writes %s as %s (RFC 5952 §4)', (hex, text) => {
    expect(formatIp(Buffer.from(hex, 'hex'))).toBe(text);
  });

  it('property: ipToBytes(formatIp(bytes)) gives the bytes back', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ minLength: 4, maxLength: 4 }),
          fc.uint8Array({ minLength: 16, maxLength: 16 }),
        ),
        (raw) => {
          const bytes = Buffer.from(raw);
          expect(ipToBytes(formatIp(bytes))?.equals(bytes)).toBe(true);
        },
      ),
    );
  });
});
