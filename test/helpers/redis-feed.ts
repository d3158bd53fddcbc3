/** Feeds a RespParser whole, byte by byte, or split, and collects what it reports. */
import { RespParser, type RespParserOptions } from '../../src/protocols/redis/index.js';

/** What a parser reported, with stream offsets so differently chunked runs compare equal. */
export type Seen =
  | { kind: 'head'; argc: number; args: string[]; inline: boolean; at: number }
  | { kind: 'end'; at: number }
  | {
      kind: 'reply';
      type: string;
      text: string | undefined;
      count: number;
      head: string[];
      at: number;
    };

/** Runs the chunks through a fresh parser; throws what the parser throws. */
export function feed(options: RespParserOptions, chunks: readonly Buffer[], resp3 = true): Seen[] {
  const seen: Seen[] = [];
  let base = 0;
  const parser = new RespParser(options, {
    commandHead: (h, at) =>
      seen.push({
        kind: 'head',
        argc: h.argc,
        args: h.args.map((a) => a.toString('latin1')),
        inline: h.inline,
        at: base + at,
      }),
    commandEnd: (at) => seen.push({ kind: 'end', at: base + at }),
    reply: (r, at) =>
      seen.push({
        kind: 'reply',
        type: r.type,
        text: r.text,
        count: r.count,
        head: [...r.head],
        at: base + at,
      }),
  });
  parser.resp3 = resp3;
  for (const chunk of chunks) {
    parser.push(chunk);
    base += chunk.length;
  }
  return seen;
}

/** Every way the tests cut a stream: whole, byte by byte, and in two at every offset. */
export function chunkings(stream: Buffer): { name: string; chunks: Buffer[] }[] {
  const out = [{ name: 'whole', chunks: [stream] }];
  const bytes: Buffer[] = [];
  for (let i = 0; i < stream.length; i++) bytes.push(stream.subarray(i, i + 1));
  out.push({ name: 'byte by byte', chunks: bytes });
  for (let i = 1; i < stream.length; i++) {
    out.push({ name: `split at ${i}`, chunks: [stream.subarray(0, i), stream.subarray(i)] });
  }
  return out;
}
