/**
 * Which local process opened a connection the gateway accepted: when the client is on this
 * host, its socket is an ESTABLISHED row in /proc/net/tcp* whose local end is the client's
 * address and whose remote end is ours; the process holding that inode is the client.
 */
import { readFile } from 'node:fs/promises';
import { ipToBytes, unmapIpv4 } from '../gateway/community-id.js';
import {
  findSocketOwners,
  parseProcNetTcp,
  procEndpointHex,
  type TcpFamily,
} from '../inventory/index.js';

export interface Endpoint {
  readonly ip: string;
  readonly port: number;
}

/** The client process behind a local connection. */
export interface LocalProcess {
  readonly pid: number;
  readonly exe: string | null;
  readonly uid: number | null;
}

export interface LocalProcessOptions {
  readonly procRoot?: string;
  readonly passwdPath?: string;
}

const MAPPED_PREFIX = Buffer.from('00000000000000000000ffff', 'hex');

/**
 * Find the process on this host that owns the client end of an accepted connection (as
 * `client` = socket.remoteAddress/Port, `server` = socket.localAddress/Port); null if none.
 */
export async function findLocalClientProcess(
  client: Endpoint,
  server: Endpoint,
  options: LocalProcessOptions = {},
): Promise<LocalProcess | null> {
  const root = options.procRoot ?? '/proc';
  const clientBytes = ipToBytes(client.ip);
  const serverBytes = ipToBytes(server.ip);
  if (clientBytes === null || serverBytes === null) return null;
  for (const [family, c, s] of candidateForms(clientBytes, serverBytes)) {
    const row = await findEstablished(
      root,
      family,
      procEndpointHex(c, client.port),
      procEndpointHex(s, server.port),
    );
    if (row === null) continue;
    const owners = await findSocketOwners([row.inode], {
      ...options,
      firstOnly: true,
      preferUid: row.uid,
    });
    const owner = owners.get(row.inode)?.[0];
    if (owner === undefined) return null;
    return { pid: owner.pid, exe: owner.exe, uid: owner.uid ?? row.uid };
  }
  return null;
}

/**
 * Where the client's socket can appear: an IPv4 pair in tcp (an IPv4 client seen by a
 * dual-stack server as ::ffff:a.b.c.d), or as mapped addresses in tcp6 (an IPv6 client
 * socket that dialled a mapped address); a real IPv6 pair only in tcp6.
 */
function candidateForms(client: Buffer, server: Buffer): [TcpFamily, Buffer, Buffer][] {
  const c4 = unmapIpv4(client);
  const s4 = unmapIpv4(server);
  if (c4.length === 4 && s4.length === 4) {
    return [
      ['tcp4', c4, s4],
      ['tcp6', Buffer.concat([MAPPED_PREFIX, c4]), Buffer.concat([MAPPED_PREFIX, s4])],
    ];
  }
  if (client.length === 16 && server.length === 16) return [['tcp6', client, server]];
  return [];
}

/** Find the one line `sl: <local> <remote> 01 …` by text search; parse only that line. */
async function findEstablished(root: string, family: TcpFamily, local: string, remote: string) {
  let text: string;
  try {
    text = await readFile(`${root}/net/${family === 'tcp4' ? 'tcp' : 'tcp6'}`, 'latin1');
  } catch {
    return null;
  }
  const at = text.indexOf(` ${local} ${remote} 01 `);
  if (at < 0) return null;
  const start = text.lastIndexOf('\n', at) + 1;
  const end = text.indexOf('\n', at);
  const { rows } = parseProcNetTcp(text.slice(start, end < 0 ? text.length : end), family);
  const row = rows[0];
  return row !== undefined && row.state === 'ESTABLISHED' && row.inode > 0 ? row : null;
}
