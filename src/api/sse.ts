/**
 * Live tail as Server-Sent Events: every committed record that matches the filter, as one
 * `event: record` message with the same JSON as a search row, in commit order. A comment
 * line every 15 s keeps proxies from closing an idle stream. A client that stops reading is
 * dropped once MAX_QUEUED_BYTES wait (never buffer without bound).
 */
import type { ServerResponse } from 'node:http';
import type { Recorder } from '../audit/recorder.js';
import type { EventFilter, EventRow } from '../store/index.js';
import { matchesFilter } from './match.js';
import { toApiEvent } from './records.js';

const HEARTBEAT_MS = 15_000;
const MAX_QUEUED_BYTES = 8 * 1024 * 1024;

/** Hand `res` over to the stream; resolves when the client goes away or the server stops. */
export function streamLive(
  res: ServerResponse,
  recorder: Recorder,
  filter: EventFilter,
  closing: AbortSignal,
): Promise<void> {
  res.writeHead(200, {
    'content-type': 'text/event-stream; charset=utf-8',
    'cache-control': 'no-store',
    connection: 'keep-alive',
    'x-accel-buffering': 'no',
  });
  res.write(`: portwarden live tail\nretry: 2000\n\n`);
  return new Promise((resolve) => {
    const send = (rows: readonly EventRow[]): void => {
      let out = '';
      for (const r of rows) {
        if (!matchesFilter(filter, r)) continue;
        out += `id: ${r.sequence}\nevent: record\ndata: ${JSON.stringify(toApiEvent(r))}\n\n`;
      }
      if (out === '') return;
      if (res.writableLength > MAX_QUEUED_BYTES) {
        res.destroy();
        return;
      }
      res.write(out);
    };
    const stop = recorder.onCommit(send);
    const heartbeat = setInterval(() => res.write(': keepalive\n\n'), HEARTBEAT_MS);
    heartbeat.unref();
    const finish = (): void => {
      stop();
      clearInterval(heartbeat);
      closing.removeEventListener('abort', onAbort);
      resolve();
    };
    const onAbort = (): void => {
      res.end();
    };
    closing.addEventListener('abort', onAbort);
    res.on('close', finish);
  });
}
