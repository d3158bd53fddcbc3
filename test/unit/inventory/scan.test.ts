import { readlinkSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PortwardenError } from '../../../src/errors.js';
import { scanListeningSockets } from '../../../src/inventory/index.js';
import { fakeProc, procRow, type FakeProc } from '../../helpers/inventory-procfs.js';

let proc: FakeProc | null = null;
const servers: Server[] = [];
afterEach(async () => {
  proc?.cleanup();
  proc = null;
  await Promise.all(servers.splice(0).map((s) => new Promise((resolve) => s.close(resolve))));
});

async function listen(host: string): Promise<number> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, host, resolve);
  });
  return (server.address() as AddressInfo).port;
}

describe('scanListeningSockets (fixture procfs)', () => {
  it('lists LISTEN rows of tcp and tcp6 with their holders, sorted by port', async () => {
    proc = fakeProc(
      {
        tcp: [
          procRow(0, '0100007F:1F90', '00000000:0000', '0A', 0, 501),
          procRow(1, '0100007F:1F90', '0100007F:C350', '01', 0, 502),
          procRow(2, '00000000:0016', '00000000:0000', '0A', 0, 503),
        ],
        tcp6: [
          procRow(
            0,
            '00000000000000000000000001000000:1F90',
            '00000000000000000000000000000000:0000',
            '0A',
            106,
            601,
          ),
        ],
      },
      [
        { pid: 10, sockets: [501, 502, 601], exe: '/usr/bin/app', comm: 'app', uid: 0 },
        { pid: 11, sockets: [503], exe: '/usr/sbin/sshd', comm: 'sshd', uid: 0 },
      ],
      'root:x:0:0:root:/root:/bin/bash\n',
    );
    const sockets = await scanListeningSockets({ procRoot: proc.root, passwdPath: proc.passwd });
    expect(
      sockets.map((s) => [s.family, s.ip, s.port, s.inode, s.uid, s.processes.map((p) => p.comm)]),
    ).toEqual([
      ['tcp4', '0.0.0.0', 22, 503, 0, ['sshd']],
      ['tcp4', '127.0.0.1', 8080, 501, 0, ['app']],
      ['tcp6', '::1', 8080, 601, 106, ['app']],
    ]);
    expect(sockets[0]?.processes[0]).toEqual({
      pid: 11,
      exe: '/usr/sbin/sshd',
      comm: 'sshd',
      uid: 0,
      user: 'root',
    });
  });

  it('works without tcp6 (IPv6 disabled) and fails typed without either table', async () => {
    proc = fakeProc({ tcp: [procRow(0, '0100007F:0050', '00000000:0000', '0A', 0, 9)] }, []);
    expect(await scanListeningSockets({ procRoot: proc.root })).toEqual([
      { ip: '127.0.0.1', port: 80, family: 'tcp4', inode: 9, uid: 0, processes: [] },
    ]);
    proc.cleanup();
    proc = fakeProc({}, []);
    await expect(scanListeningSockets({ procRoot: proc.root })).rejects.toBeInstanceOf(
      PortwardenError,
    );
  });
});

describe('scanListeningSockets (live /proc)', () => {
  it('finds servers this test opens on 127.0.0.1 and ::1, held by this process', async () => {
    const port4 = await listen('127.0.0.1');
    const port6 = await listen('::1');
    const sockets = await scanListeningSockets();
    const exe = readlinkSync('/proc/self/exe');
    const v4 = sockets.find((s) => s.family === 'tcp4' && s.port === port4);
    const v6 = sockets.find((s) => s.family === 'tcp6' && s.port === port6);
    expect(v4).toMatchObject({ ip: '127.0.0.1', uid: process.getuid?.() });
    expect(v6).toMatchObject({ ip: '::1' });
    expect(v4?.processes).toContainEqual(expect.objectContaining({ pid: process.pid, exe }));
    expect(v6?.processes).toContainEqual(expect.objectContaining({ pid: process.pid, exe }));
    expect(exe).toBe(process.execPath);
  });
});
