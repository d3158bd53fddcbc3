import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PortwardenError } from '../../../src/errors.js';
import { ipToBytes } from '../../../src/gateway/community-id.js';
import {
  crc32c,
  encodeProxyV2,
  ProxyHeaderReader,
  type ProxyHeader,
  type ProxyHeaderReaderOptions,
  type ProxyReadResult,
} from '../../../src/gateway/proxy-protocol.js';

// Fixtures follow HAProxy doc/proxy-protocol.txt (§2.1 v1 line, §2.2 v2 binary header and TLVs)
// and are built here by hand, never with encodeProxyV2.
const SIG = '0d0a0d0a000d0a515549540a';

/** A v2 header: signature, ver/cmd, fam/proto, BE length of `body`, `body` (hex). */
function v2(verCmd: number, famProto: number, bodyHex: string): Buffer {
  const body = Buffer.from(bodyHex, 'hex');
  const head = Buffer.from(SIG, 'hex');
  const fixed = Buffer.from([verCmd, famProto, body.length >> 8, body.length & 0xff]);
  return Buffer.concat([head, fixed, body]);
}

function tlv(type: number, value: Buffer | string): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'latin1') : value;
  return Buffer.concat([
    Buffer.from([type, bytes.length >> 8, bytes.length & 0xff]),
    bytes,
  ]).toString('hex');
}

type Outcome = { header: ProxyHeader; rest: Buffer } | { error: string } | 'need-more';

/** Push the chunks in order; what the reader finally said (rest is the concatenation of what followed). */
function run(chunks: readonly Buffer[], options?: ProxyHeaderReaderOptions): Outcome {
  const reader = new ProxyHeaderReader(options);
  for (let i = 0; i < chunks.length; i++) {
    let result: ProxyReadResult;
    try {
      result = reader.push(chunks[i] ?? Buffer.alloc(0));
    } catch (err) {
      if (err instanceof PortwardenError && err.code === 'PW_ERR_PROXY_HEADER')
        return { error: err.message };
      throw err;
    }
    if (result.state === 'done') {
      return { header: result.header, rest: Buffer.concat([result.rest, ...chunks.slice(i + 1)]) };
    }
  }
  return 'need-more';
}

/** Every way the tests deliver bytes: whole, byte by byte, and split in two at every offset. */
function deliveries(bytes: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[bytes], [...bytes].map((b) => Buffer.from([b]))];
  for (let i = 1; i < bytes.length; i++) ways.push([bytes.subarray(0, i), bytes.subarray(i)]);
  return ways;
}

function expectHeader(
  bytes: Buffer,
  header: ProxyHeader,
  rest: Buffer,
  options?: ProxyHeaderReaderOptions,
): void {
  for (const chunks of deliveries(Buffer.concat([bytes, rest]))) {
    const outcome = run(chunks, options);
    expect(outcome).toEqual({ header, rest });
  }
}

function expectRejected(bytes: Buffer, detail: RegExp, options?: ProxyHeaderReaderOptions): void {
  for (const chunks of deliveries(bytes)) {
    const outcome = run(chunks, options);
    expect(outcome, `chunks ${chunks.map((c) => c.length).join('+')}`).toMatchObject({
      error: expect.stringMatching(detail) as unknown,
    });
  }
}

/** 1.2.3.4:1 → 5.6.7.8:2 as a TCP4 address block. */
const ADDR4 = '01020304' + '05060708' + '0001' + '0002';
const PAYLOAD = Buffer.from('GET / HTTP/1.1\r\n\r\n');

describe('PROXY v1 (§2.1)', () => {
  it('reads TCP4 and hands on the payload', () => {
    expectHeader(
      Buffer.from('PROXY TCP4 192.168.0.1 192.168.0.11 56324 443\r\n'),
      {
        version: 1,
        command: 'proxy',
        family: 'tcp4',
        source: { ip: '192.168.0.1', port: 56324 },
        destination: { ip: '192.168.0.11', port: 443 },
        tlvs: [],
      },
      PAYLOAD,
    );
  });

  it('reads the longest TCP6 line and canonicalises IPv6', () => {
    const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    expectHeader(
      Buffer.from(`PROXY TCP6 ${full} 2001:DB8:0:0:0:0:0:1 65535 0\r\n`),
      {
        version: 1,
        command: 'proxy',
        family: 'tcp6',
        source: { ip: full, port: 65535 },
        destination: { ip: '2001:db8::1', port: 0 },
        tlvs: [],
      },
      Buffer.alloc(0),
    );
  });

  it('reads UNKNOWN with and without the ignored remainder, up to 107 bytes', () => {
    const unknown: ProxyHeader = { version: 1, command: 'proxy', family: 'unknown', tlvs: [] };
    expectHeader(Buffer.from('PROXY UNKNOWN\r\n'), unknown, PAYLOAD);
    const full = 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff';
    const longest = Buffer.from(`PROXY UNKNOWN ${full} ${full} 65535 65535\r\n`);
    expect(longest.length).toBe(107);
    expectHeader(longest, unknown, PAYLOAD);
  });

  it.each([
    ['PROXY TCP4  1.2.3.4 5.6.7.8 1 2\r\n', /exactly/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n', /exactly/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n', /exactly/],
    ['PROXY tcp4 1.2.3.4 5.6.7.8 1 2\r\n', /protocol "tcp4"/],
    ['PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n', /protocol "UDP4"/],
    ['PROXY \r\n', /protocol ""/],
    ['PROXY TCP4 1.2.3.04 5.6.7.8 1 2\r\n', /source address "1.2.3.04"/],
    ['PROXY TCP4 1.2.3.4 ::1 1 2\r\n', /destination address "::1" is not a valid IPv4/],
    ['PROXY TCP6 1.2.3.4 ::1 1 2\r\n', /source address "1.2.3.4" is not a valid IPv6/],
    ['PROXY TCP6 fe80::1%eth0 ::1 1 2\r\n', /source address/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 080 2\r\n', /source port "080"/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n', /destination port "65536"/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 -2\r\n', /destination port "-2"/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n', /LF without CR/],
    ['PROXY TCP4 1.2.3.4 5.6.7.8 1 2\rX', /CR without LF/],
  ])('rejects %j', (line, detail) => {
    expectRejected(Buffer.from(line), detail);
  });

  it('rejects a line with no CRLF by byte 107 and reads no further', () => {
    const long = Buffer.from('PROXY UNKNOWN ' + 'x'.repeat(200));
    expectRejected(long.subarray(0, 107), /longer than 107/);
    expect(run([long.subarray(0, 106)])).toBe('need-more');
  });
});

describe('PROXY v2 (§2.2)', () => {
  it('reads the reference TCP4 header (vectors.md)', () => {
    const header = Buffer.from(`${SIG}2111000cac130001ac130003a6520050`, 'hex');
    expectHeader(
      header,
      {
        version: 2,
        command: 'proxy',
        family: 'tcp4',
        source: { ip: '172.19.0.1', port: 42578 },
        destination: { ip: '172.19.0.3', port: 80 },
        tlvs: [],
      },
      PAYLOAD,
    );
  });

  it('reads TCP6 with ALPN, AUTHORITY, NOOP, UNIQUE_ID and SSL TLVs', () => {
    const addrs =
      '20010db8000000000000000000000001' + '00000000000000000000ffff0a000005' + '9c40' + '1538';
    const ssl = Buffer.from('0100000000' + tlv(0x21, 'TLSv1.3'), 'hex');
    const tlvs = [
      tlv(0x01, 'h2'),
      tlv(0x02, 'db.example'),
      tlv(0x04, Buffer.alloc(3)),
      tlv(0x05, 'req-42'),
      tlv(0x20, ssl),
    ];
    const bytes = v2(0x21, 0x21, addrs + tlvs.join(''));
    expectHeader(
      bytes,
      {
        version: 2,
        command: 'proxy',
        family: 'tcp6',
        source: { ip: '2001:db8::1', port: 40000 },
        destination: { ip: '::ffff:10.0.0.5', port: 5432 },
        tlvs: [
          { type: 0x01, value: Buffer.from('h2') },
          { type: 0x02, value: Buffer.from('db.example') },
          { type: 0x04, value: Buffer.alloc(3) },
          { type: 0x05, value: Buffer.from('req-42') },
          { type: 0x20, value: ssl },
        ],
        uniqueId: 'req-42',
        authority: 'db.example',
      },
      PAYLOAD,
    );
  });

  it('keeps a non-printable UNIQUE_ID only as a TLV', () => {
    const outcome = run([v2(0x21, 0x11, ADDR4 + tlv(0x05, Buffer.from([0xff, 0])))]);
    expect(outcome).toMatchObject({
      header: { tlvs: [{ type: 5, value: Buffer.from([0xff, 0]) }] },
    });
    expect(outcome).not.toHaveProperty('header.uniqueId');
  });

  it('checks CRC32C (§2.2.3) and accepts a correct one', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283); // the CRC-32C check value
    const zeroed = v2(0x21, 0x11, ADDR4 + tlv(0x03, Buffer.alloc(4)));
    const sum = crc32c(zeroed);
    const good = Buffer.from(zeroed);
    good.writeUInt32BE(sum, good.length - 4);
    const outcome = run([good]);
    expect(outcome).toMatchObject({ header: { family: 'tcp4', tlvs: [{ type: 3 }] } });
    const bad = Buffer.from(good);
    bad.writeUInt32BE((sum ^ 1) >>> 0, bad.length - 4);
    expectRejected(bad, /CRC32C mismatch/);
  });

  it('reads LOCAL with no addresses, whatever block it carries (§2.2 command LOCAL)', () => {
    const local: ProxyHeader = { version: 2, command: 'local', family: 'unknown', tlvs: [] };
    expectHeader(v2(0x20, 0x00, ''), local, PAYLOAD);
    expectHeader(v2(0x20, 0x11, ADDR4), local, PAYLOAD);
  });

  it('reads PROXY over UNSPEC as no addresses', () => {
    expectHeader(
      v2(0x21, 0x00, tlv(0x04, '')),
      {
        version: 2,
        command: 'proxy',
        family: 'unknown',
        tlvs: [{ type: 4, value: Buffer.alloc(0) }],
      },
      PAYLOAD,
    );
  });

  it.each([
    [
      'version 1 in the v2 signature',
      v2(0x11, 0x11, '000000000000000000000000'),
      /version nibble 1/,
    ],
    ['command 2', v2(0x22, 0x11, '000000000000000000000000'), /command 2/],
    ['family 4', v2(0x21, 0x41, ''), /family\/transport byte 0x41/],
    ['transport 3', v2(0x21, 0x13, '000000000000000000000000'), /family\/transport byte 0x13/],
    ['UDP over IPv4', v2(0x21, 0x12, '000000000000000000000000'), /not TCP/],
    ['a UNIX socket', v2(0x21, 0x31, '00'.repeat(216)), /not TCP/],
    ['a short TCP4 block', v2(0x21, 0x11, '0000000000000000000000'), /shorter than its 12-byte/],
    ['a short TCP6 block', v2(0x21, 0x21, '00'.repeat(35)), /shorter than its 36-byte/],
    [
      'a truncated TLV header',
      v2(0x21, 0x11, '000000000000000000000000' + '0500'),
      /TLV header truncated/,
    ],
    [
      'a TLV running past the end',
      v2(0x21, 0x11, '000000000000000000000000' + '050005aabb'),
      /runs past the header/,
    ],
    [
      'a 129-byte UNIQUE_ID',
      v2(0x21, 0x11, '000000000000000000000000' + tlv(0x05, 'u'.repeat(129))),
      /UNIQUE_ID is 129 bytes/,
    ],
    [
      'an AUTHORITY that is not UTF-8',
      v2(0x21, 0x11, '000000000000000000000000' + tlv(0x02, Buffer.from([0xc3, 0x28]))),
      /AUTHORITY is not valid UTF-8/,
    ],
    [
      'a CRC32C of 3 bytes',
      v2(0x21, 0x11, '000000000000000000000000' + tlv(0x03, Buffer.alloc(3))),
      /CRC32C TLV is 3 bytes/,
    ],
  ])('rejects %s', (_name, bytes, detail) => {
    expectRejected(bytes, detail);
  });

  it('rejects an oversized length from the 16 fixed bytes alone', () => {
    const fixed = Buffer.from(`${SIG}21111001`, 'hex'); // length 4097
    expectRejected(fixed, /length 4097 exceeds limit 4096/);
    expectRejected(Buffer.from(`${SIG}2111002d`, 'hex'), /length 45 exceeds limit 44/, {
      maxV2Length: 44,
    });
  });

  it('accepts a header of exactly the configured maximum', () => {
    const body = '000000000000000000000000' + tlv(0x04, Buffer.alloc(29));
    expect(Buffer.from(body, 'hex').length).toBe(44);
    expectHeader(
      v2(0x21, 0x11, body),
      {
        version: 2,
        command: 'proxy',
        family: 'tcp4',
        source: { ip: '0.0.0.0', port: 0 },
        destination: { ip: '0.0.0.0', port: 0 },
        tlvs: [{ type: 4, value: Buffer.alloc(29) }],
      },
      PAYLOAD,
      { maxV2Length: 44 },
    );
  });

  it('refuses a maxV2Length outside 0–65535', () => {
    expect(() => new ProxyHeaderReader({ maxV2Length: 65536 })).toThrow(/maxV2Length/);
  });
});

describe('start of connection', () => {
  it.each([
    ['an HTTP request', 'GET / HTTP/1.1\r\n'],
    ['a PostgreSQL startup packet', '0000000804d2162f'],
    ['a near-miss v1 prefix', 'PROXYTCP4'],
    ['a near-miss v2 signature', '0d0a0d0a000d0a515549540b'],
  ])('rejects %s at the first wrong byte', (_name, text) => {
    const bytes = /^[0-9a-f]+$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text);
    expectRejected(bytes, /does not start with a PROXY v1 or v2 signature/);
  });

  it('asks for more while a prefix is still possible', () => {
    expect(run([Buffer.from('PROX')])).toBe('need-more');
    expect(run([Buffer.from(`${SIG}2111000c`, 'hex')])).toBe('need-more');
    expect(run([Buffer.from(`${SIG}2111000cac1300`, 'hex')])).toBe('need-more');
    expect(run([Buffer.from('PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r')])).toBe('need-more');
  });

  it('refuses pushes after the header is done', () => {
    const reader = new ProxyHeaderReader();
    expect(reader.push(Buffer.from('PROXY UNKNOWN\r\n')).state).toBe('done');
    expect(() => reader.push(PAYLOAD)).toThrow(/after done/);
  });
});

describe('properties', () => {
  /** Random chunking of `bytes`: cut points drawn by fast-check. */
  const chunked = (bytes: Buffer, cuts: number[]): Buffer[] => {
    const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
    const out: Buffer[] = [];
    let last = 0;
    for (const p of [...points, bytes.length]) {
      out.push(bytes.subarray(last, p));
      last = p;
    }
    return out;
  };

  const prefixes = fc.constantFrom(
    Buffer.alloc(0),
    Buffer.from('PROXY '),
    Buffer.from('PROXY TCP4 '),
    Buffer.from(SIG, 'hex'),
  );

  it('random bytes give only a typed rejection, need-more, or a header — within the bound', () => {
    fc.assert(
      fc.property(
        prefixes,
        fc.uint8Array({ maxLength: 400 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (prefix, tail, cuts) => {
          const bytes = Buffer.concat([prefix, tail]);
          const maxV2Length = 64;
          const outcome = run(chunked(bytes, cuts), { maxV2Length });
          if (outcome === 'need-more') {
            // The reader may wait only while no bound has been reached.
            expect(bytes.length).toBeLessThan(bytes[0] === 0x50 ? 107 : 16 + maxV2Length);
          } else if ('header' in outcome) {
            const used = bytes.length - outcome.rest.length;
            expect(used).toBeLessThanOrEqual(bytes[0] === 0x50 ? 107 : 16 + maxV2Length);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('random chunking gives the same header as whole delivery', () => {
    const port = fc.integer({ min: 0, max: 0xffff });
    fc.assert(
      fc.property(
        fc.ipV4(),
        fc.ipV4(),
        port,
        port,
        fc.uint8Array({ maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (s, d, sp, dp, tail, cuts) => {
          const line = Buffer.from(`PROXY TCP4 ${s} ${d} ${sp} ${dp}\r\n`);
          const bytes = Buffer.concat([line, tail]);
          expect(run(chunked(bytes, cuts))).toEqual(run([bytes]));
          expect(run([bytes])).toMatchObject({
            header: { source: { ip: s, port: sp } },
            rest: Buffer.from(tail),
          });
        },
      ),
    );
  });

  it('encodeProxyV2 → reader round trip (IPv4, IPv6, mapped, unique ID)', () => {
    const port = fc.integer({ min: 0, max: 0xffff });
    const ip = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.ipV4().map((v4) => `::ffff:${v4}`),
    );
    const id = fc.option(
      fc.string({ unit: fc.constantFrom(...'abcdefXYZ0189-_.:'), minLength: 1, maxLength: 128 }),
      { nil: undefined },
    );
    fc.assert(
      fc.property(ip, ip, port, port, id, (s, d, sp, dp, uniqueId) => {
        const bytes = encodeProxyV2({
          source: { ip: s, port: sp },
          destination: { ip: d, port: dp },
          uniqueId,
        });
        const outcome = run([bytes]);
        if (!(typeof outcome === 'object' && 'header' in outcome))
          throw new Error(`not decoded: ${JSON.stringify(outcome)}`);
        const { header } = outcome;
        const v4 = (text: string): Buffer | null => {
          const b = ipToBytes(text);
          return b !== null &&
            b.length === 16 &&
            b.subarray(0, 12).equals(Buffer.from('00000000000000000000ffff', 'hex'))
            ? b.subarray(12)
            : b;
        };
        const bothV4 = v4(s)?.length === 4 && v4(d)?.length === 4;
        expect(header.family).toBe(bothV4 ? 'tcp4' : 'tcp6');
        const widen = (b: Buffer | null): string | undefined =>
          b === null
            ? undefined
            : (b.length === 4 && !bothV4
                ? Buffer.concat([Buffer.from('00000000000000000000ffff', 'hex'), b])
                : b
              ).toString('hex');
        expect(widen(v4(header.source?.ip ?? ''))).toBe(widen(v4(s)));
        expect(widen(v4(header.destination?.ip ?? ''))).toBe(widen(v4(d)));
        expect(header.source?.port).toBe(sp);
        expect(header.destination?.port).toBe(dp);
        expect(header.uniqueId).toBe(uniqueId);
        expect(outcome.rest.length).toBe(0);
      }),
    );
  });

  it('encodeProxyV2 writes TCP4 for ::ffff:-mapped peers, byte for byte', () => {
    const bytes = encodeProxyV2({
      source: { ip: '::ffff:172.19.0.1', port: 42578 },
      destination: { ip: '172.19.0.3', port: 80 },
    });
    expect(bytes.toString('hex')).toBe(`${SIG}2111000cac130001ac130003a6520050`);
    const withId = encodeProxyV2({
      source: { ip: '::1', port: 1 },
      destination: { ip: '10.0.0.1', port: 2 },
      uniqueId: 'ab',
    });
    expect(withId.toString('hex')).toBe(
      `${SIG}21210029` +
        '0'.repeat(31) +
        '1' +
        '00000000000000000000ffff0a000001' +
        '00010002' +
        '050002' +
        '6162',
    );
  });

  it('encodeProxyV2 refuses a unique ID over 128 bytes and bad endpoints', () => {
    const ends = { source: { ip: '1.2.3.4', port: 1 }, destination: { ip: '5.6.7.8', port: 2 } };
    expect(() => encodeProxyV2({ ...ends, uniqueId: 'x'.repeat(129) })).toThrow(/129 bytes/);
    expect(() => encodeProxyV2({ ...ends, source: { ip: 'host', port: 1 } })).toThrow(
      /not an IP address/,
    );
    expect(() => encodeProxyV2({ ...ends, destination: { ip: '5.6.7.8', port: 70000 } })).toThrow(
      /port 70000/,
    );
  });
});
