/** Packet framing (protocol_basic_packets): 3-byte length, sequence id, 0xFFFFFF continuation. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ProtocolError } from '../../../src/errors.js';
import { FrameMode, PacketFramer } from '../../../src/protocols/mysql/framer.js';
import type { FrameModeValue } from '../../../src/protocols/mysql/framer.js';
import { int1, int3, packet, str } from '../../helpers/mysql-builder.js';
import { chunkings, cutAt } from '../../helpers/mysql-feed.js';

interface Seen {
  frames: { seq: number; payload: string }[];
  streamed: { seq: number; first: number; length: number }[];
  forwarded: Buffer[];
  maxBuffered: number;
}

function run(chunks: readonly Buffer[], mode: (first: number) => FrameModeValue, max = 1024): Seen {
  const seen: Seen = { frames: [], streamed: [], forwarded: [], maxBuffered: 0 };
  const framer = new PacketFramer(
    { maxMessageBytes: max, maxStreamedBytes: 64 * 1024 * 1024 },
    {
      modeFor: (first) => mode(first),
      frame: (seq, payload, raw) => {
        seen.frames.push({ seq, payload: payload.toString('latin1') });
        seen.forwarded.push(Buffer.from(raw));
      },
      streamBytes: (source, start, end) =>
        seen.forwarded.push(Buffer.from(source.subarray(start, end))),
      streamEnd: (seq, first, length) => seen.streamed.push({ seq, first, length }),
    },
    'test',
  );
  for (const c of chunks) {
    framer.push(c);
    seen.maxBuffered = Math.max(seen.maxBuffered, framer.bufferedBytes());
  }
  expect(framer.atBoundary()).toBe(true);
  return seen;
}

const decodeAll = (): FrameModeValue => FrameMode.Decode;
/** 'S'-prefixed payloads stream, the rest decode. */
const streamS = (first: number): FrameModeValue =>
  first === 0x53 ? FrameMode.Stream : FrameMode.Decode;

const sample = Buffer.concat([
  packet(0, str('\x03select 1')),
  packet(1, Buffer.alloc(0)),
  packet(2, str('Sstreamed row bytes')),
  packet(7, str('x')),
]);

describe('PacketFramer', () => {
  it.each(chunkings(sample))('decodes and streams the same packets fed $name', ({ chunks }) => {
    const seen = run(chunks, streamS);
    expect(seen.frames).toEqual([
      { seq: 0, payload: '\x03select 1' },
      { seq: 1, payload: '' },
      { seq: 7, payload: 'x' },
    ]);
    expect(seen.streamed).toEqual([{ seq: 2, first: 0x53, length: 19 }]);
    // Every byte is handed on exactly once, in order.
    expect(Buffer.concat(seen.forwarded)).toEqual(sample);
    // A streamed packet is never held: at most a header's worth is buffered then.
    expect(seen.maxBuffered).toBeLessThanOrEqual(sample.length);
  });

  it('holds no more than a header of a streamed packet, however it is cut', () => {
    const big = packet(3, Buffer.concat([str('S'), Buffer.alloc(5000, 0x61)]));
    const seen = run(cutAt(big, [2, 5, 100, 2000, 4000]), streamS);
    expect(seen.maxBuffered).toBeLessThanOrEqual(4);
    expect(seen.streamed).toEqual([{ seq: 3, first: 0x53, length: 5001 }]);
  });

  it('joins a 0xFFFFFF payload with its continuation (Sending More Than 16Mb)', () => {
    const payload = Buffer.alloc(0xffffff + 10, 0x62);
    const bytes = packet(0, payload);
    expect(bytes.length).toBe(0xffffff + 10 + 8);
    const decoded = new PacketFramer(
      { maxMessageBytes: 0x2000000, maxStreamedBytes: 0x4000000 },
      {
        modeFor: decodeAll,
        frame: (seq, p, raw) => {
          expect(seq).toBe(0);
          expect(p.length).toBe(payload.length);
          expect(raw.length).toBe(bytes.length);
          frames += 1;
        },
        streamBytes: () => undefined,
        streamEnd: () => undefined,
      },
      'test',
    );
    let frames = 0;
    for (const c of cutAt(bytes, [3, 0xffffff + 2, 0xffffff + 5, 0xffffff + 9])) decoded.push(c);
    expect(frames).toBe(1);
    const streamed = run(cutAt(bytes, [1000, 0xffffff + 6]), () => FrameMode.Stream);
    expect(streamed.streamed).toEqual([{ seq: 0, first: 0x62, length: payload.length }]);
    expect(Buffer.concat(streamed.forwarded).equals(bytes)).toBe(true);
  });

  it('refuses a declared length above the maximum before buffering the body', () => {
    const header = Buffer.concat([int3(2000), int1(0), str('Q')]);
    expect(() => run([header], decodeAll, 1024)).toThrow(ProtocolError);
  });

  it('random bytes give only ProtocolError and bounded memory', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), fc.array(fc.nat(600)), (bytes, cuts) => {
        const buf = Buffer.from(bytes);
        const framer = new PacketFramer(
          { maxMessageBytes: 256, maxStreamedBytes: 1024 },
          {
            modeFor: streamS,
            frame: () => undefined,
            streamBytes: () => undefined,
            streamEnd: () => undefined,
          },
          'fuzz',
        );
        try {
          for (const c of cutAt(
            buf,
            [...cuts].sort((a, b) => a - b),
          )) {
            framer.push(c);
            expect(framer.bufferedBytes()).toBeLessThanOrEqual(256 + 8);
          }
        } catch (e) {
          expect(e).toBeInstanceOf(ProtocolError);
        }
      }),
    );
  });

  it('random chunking gives the same packets', () => {
    const packets = fc.array(
      fc.record({ seq: fc.nat(255), body: fc.uint8Array({ maxLength: 40 }) }),
      { maxLength: 12 },
    );
    fc.assert(
      fc.property(packets, fc.array(fc.nat(600)), (list, cuts) => {
        const bytes = Buffer.concat(list.map((p) => packet(p.seq, Buffer.from(p.body))));
        const whole = run([bytes], streamS);
        const cut = run(
          cutAt(
            bytes,
            [...cuts].sort((a, b) => a - b),
          ),
          streamS,
        );
        expect(cut.frames).toEqual(whole.frames);
        expect(cut.streamed).toEqual(whole.streamed);
        expect(Buffer.concat(cut.forwarded)).toEqual(bytes);
      }),
    );
  });
});
