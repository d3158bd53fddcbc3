/**
 * Floods and slow clients, full (`npm run soak`). Everything runs in one process (client,
 * gateway and target sockets: four descriptors per relayed connection), so the idle count
 * is what the open-file limit allows; `npm run bench` measures ~10,000 idle connections with
 * the gateway in its own process.
 */
import { readFileSync } from 'node:fs';
import { describe } from 'vitest';
import { floodCases } from '../evidence/flood-cases.js';

const limit = Number(
  /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'))?.[1] ?? 1024,
);

describe('floods and slow clients, soak', () => {
  floodCases({
    idle: Math.min(10_000, Math.floor((limit - 1000) / 4)),
    flood: 3000,
    perSource: 1000,
    streamBytes: 2048 * 1024 * 1024,
  });
});
