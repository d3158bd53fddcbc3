/**
 * HAProxy (the Debian package) as the reference proxy: one `mode tcp` frontend/backend pair
 * per relayed service, generated into a temporary directory and run in the foreground.
 */
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Background } from './util.js';
import { spawnBackground, waitForPort } from './util.js';

export interface Relay {
  readonly name: string;
  readonly listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
}

export const HAPROXY = '/usr/sbin/haproxy';

/**
 * The config text: tcp mode, generous timeouts, and the highest maxconn the open-file limit
 * allows (HAProxy refuses to start when 2 × maxconn descriptors exceed it).
 */
export function haproxyConfig(relays: readonly Relay[], maxconn: number): string {
  const lines = [
    'global',
    `  maxconn ${maxconn}`,
    '  nbthread 2',
    'defaults',
    '  mode tcp',
    '  timeout connect 5s',
    '  timeout client 1h',
    '  timeout server 1h',
    `  maxconn ${maxconn}`,
  ];
  for (const r of relays) {
    lines.push(
      `frontend fe_${r.name}`,
      `  bind 127.0.0.1:${r.listenPort}`,
      `  default_backend be_${r.name}`,
      `backend be_${r.name}`,
      `  server s1 ${r.targetHost}:${r.targetPort}`,
    );
  }
  return lines.join('\n') + '\n';
}

export async function startHaproxy(relays: readonly Relay[], fdLimit: number): Promise<Background> {
  if (!existsSync(HAPROXY))
    throw new Error(
      `${HAPROXY} not found: install Debian's haproxy (.ci/run does) to run the side-by-side benchmark`,
    );
  const dir = mkdtempSync(join(tmpdir(), 'pw-bench-haproxy-'));
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, haproxyConfig(relays, Math.floor((fdLimit - 100) / 2)));
  const bg = spawnBackground(HAPROXY, ['-db', '-f', file]);
  try {
    for (const r of relays) await waitForPort(r.listenPort);
  } catch (err) {
    await bg.stop();
    throw new Error(`haproxy did not start: ${String(err)}\n${bg.output()}`, { cause: err });
  }
  return bg;
}
