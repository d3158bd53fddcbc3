import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseProcNetTcp, procEndpointHex, procHexToBytes } from '../../../src/inventory/index.js';
import { procRow, TCP6_HEADER, TCP_HEADER } from '../../helpers/inventory-procfs.js';

// Facts from /work/shared/reference/vectors.md (/proc/net/tcp): addresses are native-endian
// hex u32 words, ports big-endian hex; 0A = LISTEN, 01 = ESTABLISHED, 06 = TIME_WAIT.
describe('parseProcNetTcp', () => {
  it('reads 127.0.0.1:8080 LISTEN written by a little-endian host', () => {
    const text = [TCP_HEADER, procRow(0, '0100007F:1F90', '00000000:0000', '0A', 1000, 12345)].join(
      '\n',
    );
    expect(parseProcNetTcp(text, 'tcp4', { endianness: 'LE' })).toEqual({
      rows: [
        {
          local: { ip: '127.0.0.1', port: 8080 },
          remote: { ip: '0.0.0.0', port: 0 },
          state: 'LISTEN',
          uid: 1000,
          inode: 12345,
        },
      ],
      malformed: 0,
      truncated: false,
    });
  });

  it('reads the same socket written by a big-endian host', () => {
    const text = procRow(0, '7F000001:1F90', '00000000:0000', '0A', 0, 7);
    expect(parseProcNetTcp(text, 'tcp4', { endianness: 'BE' }).rows[0]?.local).toEqual({
      ip: '127.0.0.1',
      port: 8080,
    });
  });

  it('reads every state and keeps TIME_WAIT rows with inode 0', () => {
    const states = ['01', '02', '03', '04', '05', '06', '07', '08', '09', '0A', '0B', '0C'];
    const text = [
      TCP_HEADER,
      ...states.map((st, i) =>
        procRow(i, '0100007F:0050', '0200007F:C350', st, 0, st === '06' ? 0 : 100 + i),
      ),
    ].join('\n');
    const table = parseProcNetTcp(text, 'tcp4', { endianness: 'LE' });
    expect(table.rows.map((r) => r.state)).toEqual([
      'ESTABLISHED',
      'SYN_SENT',
      'SYN_RECV',
      'FIN_WAIT1',
      'FIN_WAIT2',
      'TIME_WAIT',
      'CLOSE',
      'CLOSE_WAIT',
      'LAST_ACK',
      'LISTEN',
      'CLOSING',
      'NEW_SYN_RECV',
    ]);
    expect(table.rows[5]?.inode).toBe(0);
    expect(table.rows[0]?.remote).toEqual({ ip: '127.0.0.2', port: 50000 });
  });

  it('reads tcp6: ::1, ::, an IPv4-mapped peer and a global address', () => {
    const text = [
      TCP6_HEADER,
      // ::1 is words 0,0,0,0x01000000 (bytes 00..00 01 in LE order) — as this machine prints it.
      procRow(
        0,
        '00000000000000000000000001000000:AC6D',
        '00000000000000000000000000000000:0000',
        '0A',
        0,
        26321,
      ),
      procRow(
        1,
        '0000000000000000FFFF00000100007F:1F90',
        '0000000000000000FFFF00000200007F:D431',
        '01',
        33,
        9,
      ),
      // 2001:db8::5 → words 0x20010db8, 0, 0, 5 stored little-endian.
      procRow(
        2,
        'B80D0120000000000000000005000000:01BB',
        '00000000000000000000000000000000:0000',
        '0A',
        0,
        10,
      ),
    ].join('\n');
    const { rows, malformed } = parseProcNetTcp(text, 'tcp6', { endianness: 'LE' });
    expect(malformed).toBe(0);
    expect(rows.map((r) => [r.local.ip, r.local.port, r.remote.ip, r.remote.port])).toEqual([
      ['::1', 0xac6d, '::', 0],
      ['::ffff:127.0.0.1', 8080, '::ffff:127.0.0.2', 0xd431],
      ['2001:db8::5', 443, '::', 0],
    ]);
  });

  it('counts and skips malformed lines, never throws', () => {
    const good = procRow(0, '0100007F:1F90', '00000000:0000', '0A', 0, 1);
    const text = [
      TCP_HEADER,
      good,
      '   1: 0100007F:1F90',
      procRow(2, '0100007G:1F90', '00000000:0000', '0A', 0, 1),
      procRow(3, '0100007F:1F90', '00000000:0000', '0Z', 0, 1),
      procRow(4, '0100007F1F90', '00000000:0000', '0A', 0, 1),
      procRow(5, '00000000000000000000000001000000:1F90', '00000000:0000', '0A', 0, 1),
      procRow(6, '0100007F:1F90', '00000000:0000', '0A', 0, 1).replace(' 1 1 ', ' x 1 '),
      'garbage line',
      '',
      good,
    ].join('\n');
    const table = parseProcNetTcp(text, 'tcp4', { endianness: 'LE' });
    expect(table.rows).toHaveLength(2);
    expect(table.malformed).toBe(7);
  });

  it('stops at maxRows and says so', () => {
    const rows = Array.from({ length: 5 }, (_, i) =>
      procRow(i, '0100007F:1F90', '00000000:0000', '0A', 0, i + 1),
    );
    const table = parseProcNetTcp([TCP_HEADER, ...rows].join('\n'), 'tcp4', { maxRows: 3 });
    expect(table.rows.map((r) => r.inode)).toEqual([1, 2, 3]);
    expect(table.truncated).toBe(true);
  });

  it('property: random text yields rows + malformed ≤ lines, without throwing', () => {
    fc.assert(
      fc.property(
        fc.string({ maxLength: 600 }),
        fc.constantFrom('tcp4' as const, 'tcp6' as const),
        (text, family) => {
          const table = parseProcNetTcp(text, family);
          expect(table.rows.length + table.malformed).toBeLessThanOrEqual(text.split('\n').length);
        },
      ),
    );
  });
});

describe('kernel hex addresses', () => {
  it('round-trips address bytes both ways in both byte orders', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 0xffff }),
        fc.constantFrom('LE' as const, 'BE' as const),
        (raw, v4, port, order) => {
          const bytes = Buffer.from(v4 ? raw.subarray(0, 4) : raw);
          const text = procEndpointHex(bytes, port, order);
          const [addr, portHex] = text.split(':');
          expect(procHexToBytes(addr ?? '', order)?.equals(bytes)).toBe(true);
          expect(Number.parseInt(portHex ?? '', 16)).toBe(port);
          expect(text).toBe(text.toUpperCase());
        },
      ),
    );
  });

  it('writes 127.0.0.1:8080 as the kernel does on little-endian hosts', () => {
    expect(procEndpointHex(Buffer.from([127, 0, 0, 1]), 8080, 'LE')).toBe('0100007F:1F90');
  });

  it('refuses hex of the wrong length or alphabet', () => {
    expect(procHexToBytes('0100007')).toBeNull();
    expect(procHexToBytes('0100007X')).toBeNull();
  });
});
