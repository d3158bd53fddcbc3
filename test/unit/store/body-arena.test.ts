// BodyArena (store/body-arena.ts): bodies placed one after another behind a 0x00 byte, in
// chunks of their own ArrayBuffer; a body larger than a chunk gets a chunk of its own, and
// nothing placed is ever overwritten.
import { describe, expect, it } from 'vitest';
import { BodyArena, bodyText, type BodyBytes } from '../../../src/store/index.js';
import { CHUNK_BYTES } from '../../../src/store/body-arena.js';

describe('BodyArena', () => {
  it('places bodies behind 0x00, moves on to new chunks, and keeps every one intact', () => {
    const arena = new BodyArena();
    const placed: { b: BodyBytes; text: string }[] = [];
    for (let i = 0; i < 2000; i++) {
      const text = `{"i":${i},"pad":"${'é'.repeat(i % 300)}"}`;
      placed.push({ b: arena.placeText(text), text });
    }
    const chunks = new Set(placed.map((p) => p.b.chunk));
    expect(chunks.size).toBeGreaterThan(2);
    for (const c of chunks) {
      // Each chunk is a whole ArrayBuffer (sliced and transferred to the writer thread).
      expect(c.byteOffset).toBe(0);
      expect(c.buffer.byteLength).toBe(c.length);
      expect(c.length).toBe(CHUNK_BYTES);
    }
    for (const { b, text } of placed) {
      expect(b.chunk[b.at - 1]).toBe(0x00);
      expect(b.length).toBe(Buffer.byteLength(text));
      expect(bodyText(b)).toBe(text);
    }
  });

  it('gives a body larger than a chunk a chunk of its own, then goes on', () => {
    const arena = new BodyArena();
    const small = arena.placeText('{"a":1}');
    const text = `"${'x'.repeat(CHUNK_BYTES * 2)}"`;
    const big = arena.placeText(text);
    expect(big.chunk).not.toBe(small.chunk);
    expect(big.chunk.length).toBeGreaterThanOrEqual(text.length + 1);
    expect(bodyText(big)).toBe(text);
    const after = arena.placeText('{"b":2}');
    expect(bodyText(after)).toBe('{"b":2}');
    expect(bodyText(small)).toBe('{"a":1}');
  });
});
