import { readlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { findLocalClientProcess } from '../../../src/identity/index.js';
import { fakeProc, hostEndpoint, procRow, type FakeProc } from '../../helpers/inventory-procfs.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
let proc: FakeProc | null = null;
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
  proc?.cleanup();
  proc = null;
});

/** Listen on `listenHost`, dial it via `dialHost`; the accepted socket's view of both ends. */
async function acceptedPair(listenHost: string, dialHost: string) {
  const server = createServer();
  servers.push(server);
  const accepted = new Promise<Socket>((resolve) => server.once('connection', resolve));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, listenHost, resolve);
  });
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const client = connect(address.port, dialHost);
  sockets.push(client);
  const socket = await accepted;
  sockets.push(socket);
  return {
    client: { ip: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 },
    server: { ip: socket.localAddress ?? '', port: socket.localPort ?? 0 },
  };
}

describe('findLocalClientProcess (live /proc)', () => {
  const me = { pid: process.pid, exe: readlinkSync('/proc/self/exe'), uid: process.getuid?.() };

  it('finds this process as the client of an IPv4 connection', async () => {
    const { client, server } = await acceptedPair('127.0.0.1', '127.0.0.1');
    expect(await findLocalClientProcess(client, server)).toEqual(me);
  });

  it('finds it over ::1', async () => {
    const { client, server } = await acceptedPair('::1', '::1');
    expect(client.ip).toBe('::1');
    expect(await findLocalClientProcess(client, server)).toEqual(me);
  });

  it('finds it when a dual-stack server sees the IPv4 client as ::ffff:127.0.0.1', async () => {
    const { client, server } = await acceptedPair('::', '127.0.0.1');
    expect(client.ip).toBe('::ffff:127.0.0.1');
    expect(await findLocalClientProcess(client, server)).toEqual(me);
  });

  it('answers null for a client port with no socket, or a non-address', async () => {
    const { client, server } = await acceptedPair('127.0.0.1', '127.0.0.1');
    // The server's own port as the client port: its row is LISTEN/ESTABLISHED the other way round.
    expect(await findLocalClientProcess({ ip: client.ip, port: server.port }, server)).toBeNull();
    expect(await findLocalClientProcess({ ip: 'not-an-ip', port: 1 }, server)).toBeNull();
  });
});

describe('findLocalClientProcess (fixture procfs)', () => {
  it('finds an IPv6 client socket that dialled an IPv4-mapped address (tcp6 row)', async () => {
    const mapped = '00000000000000000000ffff7f000001';
    proc = fakeProc(
      {
        tcp: [procRow(0, hostEndpoint('7f000001', 5432), '00000000:0000', '0A', 0, 700)],
        tcp6: [
          procRow(0, hostEndpoint(mapped, 50000), hostEndpoint(mapped, 5432), '01', 1000, 701),
        ],
      },
      [
        { pid: 42, sockets: [701], exe: '/usr/bin/psql', comm: 'psql', uid: 1000 },
        { pid: 43, sockets: [700], exe: '/usr/bin/gateway', comm: 'gw', uid: 0 },
      ],
    );
    const found = await findLocalClientProcess(
      { ip: '::ffff:127.0.0.1', port: 50000 },
      { ip: '127.0.0.1', port: 5432 },
      { procRoot: proc.root, passwdPath: proc.passwd },
    );
    expect(found).toEqual({ pid: 42, exe: '/usr/bin/psql', uid: 1000 });
  });

  it('ignores a matching row that is not ESTABLISHED or has no holder', async () => {
    proc = fakeProc(
      {
        tcp: [
          procRow(0, hostEndpoint('7f000001', 50000), hostEndpoint('7f000001', 5432), '06', 0, 0),
          procRow(1, hostEndpoint('7f000001', 50001), hostEndpoint('7f000001', 5432), '01', 0, 702),
        ],
      },
      [],
    );
    const options = { procRoot: proc.root, passwdPath: proc.passwd };
    expect(
      await findLocalClientProcess(
        { ip: '127.0.0.1', port: 50000 },
        { ip: '127.0.0.1', port: 5432 },
        options,
      ),
    ).toBeNull();
    expect(
      await findLocalClientProcess(
        { ip: '127.0.0.1', port: 50001 },
        { ip: '127.0.0.1', port: 5432 },
        options,
      ),
    ).toBeNull();
  });
});
