/**
 * Resident memory of a relay holding N idle connections: open N client connections through
 * the relay to a hold server, wait until the hold server holds all N, then read the relay's
 * VmRSS. Baseline RSS (no connections) is measured first so the per-connection cost shows.
 */
import net from 'node:net';
import type { Background } from './util.js';
import { delay, rssBytes } from './util.js';

export interface IdleResult {
  readonly connections: number;
  readonly baselineRss: number;
  readonly rss: number;
}

/** How many connections `holder` reports holding (its last `holding N` line). */
export function holding(holder: Background): number {
  const all = [...holder.output().matchAll(/holding (\d+)/g)];
  const last = all[all.length - 1];
  return last?.[1] ? Number(last[1]) : 0;
}

/** Open `count` idle connections through `port`, measure `relayPid`'s RSS, close them. */
export async function idleRss(
  port: number,
  relayPid: number,
  holder: Background,
  count: number,
): Promise<IdleResult> {
  const baselineRss = rssBytes(relayPid);
  const sockets: net.Socket[] = [];
  const before = holding(holder);
  const batch = 200;
  for (let i = 0; i < count; i += batch) {
    const opened = await Promise.all(
      Array.from({ length: Math.min(batch, count - i) }, () => openIdle(port)),
    );
    sockets.push(...opened);
  }
  const deadline = Date.now() + 60_000;
  while (holding(holder) - before < count && Date.now() < deadline) await delay(100);
  const reached = holding(holder) - before;
  await delay(500);
  const rss = rssBytes(relayPid);
  for (const s of sockets) s.destroy();
  const drained = Date.now() + 30_000;
  while (holding(holder) > before && Date.now() < drained) await delay(100);
  return { connections: reached, baselineRss, rss };
}

function openIdle(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ host: '127.0.0.1', port });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}
