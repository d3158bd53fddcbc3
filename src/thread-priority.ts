/**
 * Lowers the CPU priority of the calling thread only (Linux: a thread's nice value is its
 * own; `/proc/thread-self` names the thread). Background threads — the search index
 * builder — use it so that the gateway's own threads win the cores under load. Elsewhere,
 * or when the system refuses, nothing changes: it is a preference, never a requirement.
 */
import { readlinkSync } from 'node:fs';
import { getPriority, setPriority } from 'node:os';

/** Sets the calling thread's nice value to `niceness` if that lowers its priority. */
export function lowerThreadPriority(niceness: number): boolean {
  if (process.platform !== 'linux') return false;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isSafeInteger(tid) || tid <= 0) return false;
    if (getPriority(tid) >= niceness) return false;
    setPriority(tid, niceness);
    return true;
  } catch {
    return false;
  }
}
