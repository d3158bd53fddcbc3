import { randomFillSync } from 'node:crypto';

// A pool of random bytes refilled in bulk: one syscall per 4096 ids instead of one per id.
const pool = Buffer.alloc(10 * 4096);
let poolOffset = pool.length;

/** A UUIDv7 (RFC 9562): 48-bit Unix ms timestamp, then random bits; sortable by time. */
export function uuidv7(nowMs: number = Date.now()): string {
  if (poolOffset + 10 > pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const b = Buffer.allocUnsafe(16);
  b.writeUIntBE(nowMs, 0, 6);
  pool.copy(b, 6, poolOffset, poolOffset + 10);
  poolOffset += 10;
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x70;
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80;
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
