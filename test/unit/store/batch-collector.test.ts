// BatchCollector (store/sqlite-writer.ts): a batch's records by column, for the writer
// thread — sized for the records announced, grown past them, cut to those that came; each
// body's span points into the copy of its chunk's filled part that goes with the batch.
import { describe, expect, it } from 'vitest';
import { BodyArena, type EventRow } from '../../../src/store/index.js';
import { BatchCollector } from '../../../src/store/sqlite-writer.js';

function row(sequence: number): EventRow {
  return {
    sequence,
    timestampNs: BigInt(sequence) * 1000n,
    id: `id-${sequence}`,
    action: 'a',
  } as EventRow;
}

/** The body text of record `i` of a packed batch, read as the writer thread reads it. */
function bodyOf(batch: ReturnType<BatchCollector['pack']>, i: number): string {
  const chunk = Buffer.from(batch.chunks[batch.spans[3 * i] as number] as ArrayBuffer);
  const at = batch.spans[3 * i + 1] as number;
  expect(chunk[at - 1]).toBe(0x00);
  return chunk.toString('utf8', at, at + (batch.spans[3 * i + 2] as number));
}

describe('BatchCollector', () => {
  for (const [announced, added] of [
    [5, 5],
    [1, 7],
    [128, 3],
  ] as const) {
    it(`packs ${added} records announced as ${announced}, bodies across chunks and given as text`, () => {
      const arena = new BodyArena();
      // Most of the first chunk taken, so that the bodies below go on into the next.
      arena.placeText('x'.repeat(120_000));
      const batch = new BatchCollector(announced);
      const texts: string[] = [];
      for (let i = 0; i < added; i++) {
        const text = `{"i":${i},"pad":"${'é'.repeat(1500 * i)}"}`;
        texts.push(text);
        batch.addRecord(row(10 + i), i === 1 ? batch.placeText(text) : arena.placeText(text));
      }
      expect(batch.records).toBe(added);
      expect(batch.last?.sequence).toBe(10 + added - 1);
      const packed = batch.pack(1, null);
      expect([...packed.seqs]).toEqual(texts.map((_, i) => 10 + i));
      expect([...packed.ts]).toEqual(texts.map((_, i) => BigInt(10 + i) * 1000n));
      expect(packed.ids).toEqual(texts.map((_, i) => `id-${10 + i}`));
      expect(packed.spans.length).toBe(3 * added);
      for (let i = 0; i < added; i++) expect(bodyOf(packed, i)).toBe(texts[i]);
      // Only the filled part of a chunk goes: less than the chunks themselves.
      const sent = packed.chunks.reduce((n, c) => n + c.byteLength, 0);
      expect(sent).toBe(texts.reduce((n, t) => n + Buffer.byteLength(t) + 1, 0));
    });
  }
});
