/**
 * The publisher's durable cursor, `<data_dir>/ship.cursor`: the highest sequence below
 * which every record was acknowledged by JetStream. Written to a temporary file and
 * renamed, so a crash leaves the old or the new cursor, never half of one. A cursor that
 * lags only causes republishing, which the stream's msgID window and the collector's
 * (node, seq) idempotency absorb.
 */
import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PortwardenError } from '../errors.js';

export const CURSOR_FILE = 'ship.cursor';

interface CursorFile {
  readonly node: string;
  /** Last acknowledged sequence; -1 before the first. */
  readonly acked: number;
}

/** The last acknowledged sequence of `node` in `dataDir` (-1 when nothing was shipped yet). */
export function readCursor(dataDir: string, node: string): number {
  let text: string;
  try {
    text = readFileSync(join(dataDir, CURSOR_FILE), 'utf8');
  } catch (err) {
    if (err instanceof Error && 'code' in err && err.code === 'ENOENT') return -1;
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw cursorError(`${CURSOR_FILE} is not JSON`);
  }
  const c = parsed as Partial<CursorFile> | null;
  if (c === null || typeof c !== 'object' || typeof c.acked !== 'number') {
    throw cursorError(`${CURSOR_FILE} has no acked sequence`);
  }
  if (c.node !== node) throw cursorError(`${CURSOR_FILE} belongs to node ${String(c.node)}`);
  if (!Number.isSafeInteger(c.acked) || c.acked < -1) throw cursorError('bad acked sequence');
  return c.acked;
}

export function writeCursor(dataDir: string, node: string, acked: number): void {
  const path = join(dataDir, CURSOR_FILE);
  const tmp = `${path}.tmp`;
  writeFileSync(tmp, JSON.stringify({ node, acked } satisfies CursorFile) + '\n', { mode: 0o600 });
  renameSync(tmp, path);
}

function cursorError(detail: string): PortwardenError {
  return new PortwardenError('PW_ERR_CONFIG', {
    detail: `${detail}; remove it to ship this node's records again from the start`,
  });
}
