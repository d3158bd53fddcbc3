/** Whether a live gateway process holds a data dir (its pid is in `gateway.lock`). */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export function gatewayRunning(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, 'gateway.lock'), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' ? pid : null;
  }
}
