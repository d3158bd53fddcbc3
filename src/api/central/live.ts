/**
 * The central live tail: polls each node's chain head (`node_state.next_seq`) every
 * `pollMs` and sends the node's newly stored records that match the filter, in sequence
 * order, as `event: record` messages with the same JSON as a search row. Per-node cursors
 * instead of one time cursor: a node that ships late still has every record shown. A client
 * that stops reading is dropped once MAX_QUEUED_BYTES wait.
 */
import type { ServerResponse } from 'node:http';
import type { CentralFilter } from '../../ship/index.js';
import { toCentralEvent } from './events.js';
import type { CentralApiContext } from './source.js';

const HEARTBEAT_MS = 15_000;
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;
const PAGE = 1000;

export async function streamCentralLive(
  res: ServerResponse,
  ctx: CentralApiContext,
  filter: CentralFilter,
): Promise<void> {
  // The node cursors are taken before the headers go out: a client that has the response
  // sees every record stored after that.
  const seen = new Map<string, number>();
  try {
    for (const n of await ctx.source.nodes()) seen.set(n.node, n.nextSeq);
  } catch {
    res.writeHead(503, { 'content-type': 'application/json; charset=utf-8' });
    res.end(
      JSON.stringify({
        error: { code: 'PW_ERR_STORE_UNAVAILABLE', message: 'central store unreachable' },
      }),
    );
    return;
  }
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`: portwarden central live tail\nretry: 2000\n\n`);
  let open = true;
  let lastWrite = Date.now();
  const stop = new Promise<void>((resolve) => {
    const finish = (): void => {
      open = false;
      ctx.closing.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      res.end();
    };
    ctx.closing.addEventListener('abort', onAbort);
    res.on('close', finish);
  });
  const poll = async (): Promise<void> => {
    let out = '';
    for (const n of await ctx.source.nodes()) {
      if (filter.node !== undefined && n.node !== filter.node) continue;
      const from = seen.get(n.node) ?? 0;
      if (n.nextSeq <= from) continue;
      const rows = await ctx.source.tail(n.node, from, n.nextSeq, filter, PAGE);
      const last = rows[rows.length - 1];
      seen.set(n.node, rows.length === PAGE && last !== undefined ? last.sequence + 1 : n.nextSeq);
      for (const r of rows)
        out += `id: ${r.node}:${r.sequence}\nevent: record\ndata: ${JSON.stringify(toCentralEvent(r))}\n\n`;
    }
    if (!open) return;
    if (out === '' && Date.now() - lastWrite >= HEARTBEAT_MS) out = ': keepalive\n\n';
    if (out === '') return;
    if (res.writableLength > MAX_QUEUED_BYTES) {
      res.destroy();
      return;
    }
    res.write(out);
    lastWrite = Date.now();
  };
  while (open) {
    await Promise.race([stop, new Promise((r) => setTimeout(r, ctx.pollMs).unref())]);
    if (!open) break;
    try {
      await poll();
    } catch {
      // the database is away: keep the stream, try again next round
    }
  }
  await stop;
}
