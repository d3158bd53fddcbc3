/**
 * The host's listening TCP sockets (IPv4 and IPv6) with the processes that hold them — what
 * `portwarden inventory` shows to find ports that bypass the gateway.
 */
import { readFile } from 'node:fs/promises';
import { PortwardenError } from '../errors.js';
import { parseProcNetTcp, type ProcNetRow, type TcpFamily } from './proc-net.js';
import { findSocketOwners, type SocketOwner, type SocketOwnerOptions } from './socket-owners.js';

/** One listening socket and its holders (empty when they could not be seen). */
export interface ListeningSocket {
  readonly ip: string;
  readonly port: number;
  readonly family: TcpFamily;
  readonly inode: number;
  readonly uid: number;
  readonly processes: readonly SocketOwner[];
}

export type ScanOptions = Pick<SocketOwnerOptions, 'procRoot' | 'passwdPath'>;

/** List LISTEN sockets from /proc/net/tcp and tcp6, sorted by port then address. */
export async function scanListeningSockets(options: ScanOptions = {}): Promise<ListeningSocket[]> {
  const root = options.procRoot ?? '/proc';
  const [tcp4, tcp6] = await Promise.all([readTable(root, 'tcp4'), readTable(root, 'tcp6')]);
  if (tcp4 === null && tcp6 === null) {
    throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `${root}/net/tcp and ${root}/net/tcp6` });
  }
  const listening: { row: ProcNetRow; family: TcpFamily }[] = [];
  for (const [family, rows] of [
    ['tcp4', tcp4],
    ['tcp6', tcp6],
  ] as const) {
    for (const row of rows ?? []) if (row.state === 'LISTEN') listening.push({ row, family });
  }
  const owners = await findSocketOwners(
    listening.map(({ row }) => row.inode),
    options,
  );
  return listening
    .map(({ row, family }) => ({
      ip: row.local.ip,
      port: row.local.port,
      family,
      inode: row.inode,
      uid: row.uid,
      processes: owners.get(row.inode) ?? [],
    }))
    .sort(
      (a, b) => a.port - b.port || a.family.localeCompare(b.family) || a.ip.localeCompare(b.ip),
    );
}

/** Rows of one table; null when the kernel has none (IPv6 disabled, no procfs). */
async function readTable(root: string, family: TcpFamily): Promise<readonly ProcNetRow[] | null> {
  const file = `${root}/net/${family === 'tcp4' ? 'tcp' : 'tcp6'}`;
  try {
    return parseProcNetTcp(await readFile(file, 'utf8'), family).rows;
  } catch {
    return null;
  }
}
