import { randomFillSync } from 'node:crypto';

// A pool of random bytes refilled in bulk: one syscall per 4096 ids instead of one per id,
// kept also as hex digits, from which an id's random part is copied byte by byte.
const IDS_PER_FILL = 4096;
const pool = Buffer.alloc(10 * IDS_PER_FILL);
let poolHex: Buffer = Buffer.alloc(0);
let hexOffset = 0;
const HEX = Buffer.from('0123456789abcdef', 'latin1');

/**
 * The id is written here and read out as one flat string: an id made of a template of
 * slices was a rope of seven strings (~270 bytes of garbage a record), which the canonical
 * encoder then flattened again.
 */
const idBytes = Buffer.alloc(36, 0x2d);
/** The millisecond whose `tttttttt-tttt-7` is in `idBytes`. */
let lastMs = -1;

/** A UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, then random bits; sortable by time. */
export function uuidv7(nowMs: number = Date.now()): string {
  if (!Number.isSafeInteger(nowMs) || nowMs < 0 || nowMs >= 2 ** 48) return uuidv7Slow(nowMs);
  if (hexOffset >= poolHex.length) {
    randomFillSync(pool);
    poolHex = Buffer.from(pool.toString('hex'), 'latin1');
    hexOffset = 0;
  }
  const id = idBytes;
  if (nowMs !== lastMs) {
    const t = nowMs.toString(16).padStart(12, '0');
    id.write(`${t.slice(0, 8)}-${t.slice(8)}-7`, 0, 'latin1');
    lastMs = nowMs;
  }
  // 10 random bytes (20 hex digits) r: version 7 replaces r's first digit; the variant
  // (10xx) replaces the top two bits of its fifth digit.
  const r = hexOffset;
  hexOffset += 20;
  const hex = poolHex;
  id[15] = hex[r + 1] as number;
  id[16] = hex[r + 2] as number;
  id[17] = hex[r + 3] as number;
  id[19] = HEX[8 | (((pool[r / 2 + 2] as number) >> 4) & 3)] as number;
  id[20] = hex[r + 5] as number;
  id[21] = hex[r + 6] as number;
  id[22] = hex[r + 7] as number;
  for (let i = 0; i < 12; i++) id[24 + i] = hex[r + 8 + i] as number;
  return id.toString('latin1', 0, 36);
}

/** Any other timestamp, as Buffer#writeUIntBE takes it (it refuses one beyond 48 bits). */
function uuidv7Slow(nowMs: number): string {
  const b = Buffer.allocUnsafe(16);
  b.writeUIntBE(nowMs, 0, 6);
  randomFillSync(b, 6, 10);
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
