/** Ways to cut a byte string into chunks: whole, byte by byte, and split at every offset. */
export function chunkings(bytes: Buffer): { name: string; chunks: Buffer[] }[] {
  const out: { name: string; chunks: Buffer[] }[] = [{ name: 'whole', chunks: [bytes] }];
  out.push({ name: 'byte by byte', chunks: [...bytes].map((b) => Buffer.from([b])) });
  for (let k = 1; k < bytes.length; k += 1) {
    out.push({ name: `split at ${k}`, chunks: [bytes.subarray(0, k), bytes.subarray(k)] });
  }
  return out;
}

/** Cuts `bytes` at the given sorted offsets. */
export function cutAt(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  let at = 0;
  for (const o of offsets) {
    if (o <= at || o >= bytes.length) continue;
    chunks.push(bytes.subarray(at, o));
    at = o;
  }
  chunks.push(bytes.subarray(at));
  return chunks;
}
