import { readFileSync, readlinkSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  findSocketOwners,
  parsePasswd,
  parseProcNetTcp,
  passwdNames,
} from '../../../src/inventory/index.js';
import { fakeProc, type FakeProc } from '../../helpers/inventory-procfs.js';

const PASSWD =
  'root:x:0:0:root:/root:/bin/bash\n# comment\npostgres:x:106:112::/var/lib/postgresql:/bin/false\nbroken line\n';

let proc: FakeProc | null = null;
afterEach(() => {
  proc?.cleanup();
  proc = null;
});

describe('findSocketOwners (fixture procfs)', () => {
  it('maps inodes to every holder with exe, comm, uid and user; skips vanished processes', async () => {
    proc = fakeProc(
      {},
      [
        {
          pid: 100,
          sockets: [111, 222],
          exe: '/usr/lib/postgresql/bin/postgres',
          comm: 'postgres',
          uid: 106,
        },
        {
          pid: 101,
          sockets: [111],
          exe: '/usr/lib/postgresql/bin/postgres',
          comm: 'postgres',
          uid: 106,
        },
        { pid: 200, sockets: [], vanished: true },
        { pid: 300, sockets: [333], comm: 'mystery' },
      ],
      PASSWD,
    );
    const owners = await findSocketOwners([111, 333, 999, 0], {
      procRoot: proc.root,
      passwdPath: proc.passwd,
    });
    const pg = {
      exe: '/usr/lib/postgresql/bin/postgres',
      comm: 'postgres',
      uid: 106,
      user: 'postgres',
    };
    expect(owners.get(111)?.sort((a, b) => a.pid - b.pid)).toEqual([
      { pid: 100, ...pg },
      { pid: 101, ...pg },
    ]);
    // No exe link and no status: a process that would not disclose them.
    expect(owners.get(333)).toEqual([
      { pid: 300, exe: null, comm: 'mystery', uid: null, user: null },
    ]);
    expect(owners.has(999)).toBe(false);
    expect(owners.has(222)).toBe(false);
  });

  it('stops at the first holder with firstOnly', async () => {
    proc = fakeProc({}, [
      { pid: 100, sockets: [111], uid: 0 },
      { pid: 101, sockets: [111], uid: 0 },
    ]);
    const owners = await findSocketOwners([111], { procRoot: proc.root, firstOnly: true });
    expect(owners.get(111)).toHaveLength(1);
  });

  it('finds this process holding its own socket inode on the live /proc', async () => {
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const table = parseProcNetTcp(readFileSync('/proc/net/tcp', 'utf8'), 'tcp4');
      const inode =
        table.rows.find((r) => r.state === 'LISTEN' && r.local.port === port)?.inode ?? 0;
      expect(inode).toBeGreaterThan(0);
      const owners = await findSocketOwners([inode], { firstOnly: true });
      expect(owners.get(inode)?.[0]).toMatchObject({
        pid: process.pid,
        exe: readlinkSync('/proc/self/exe'),
        uid: process.getuid?.(),
      });
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('passwd', () => {
  it('parses names by uid, first name wins, junk skipped', () => {
    const names = parsePasswd(PASSWD + 'toor:x:0:0::/:/bin/sh\nbad:x:abc:0::/:/bin/sh\n');
    expect([...names]).toEqual([
      [0, 'root'],
      [106, 'postgres'],
    ]);
  });

  it('caches the map for a minute and gives an empty map for a missing file', async () => {
    const first = passwdNames('/nonexistent/passwd', 1_000_000);
    expect(passwdNames('/nonexistent/passwd', 1_030_000)).toBe(first);
    expect(passwdNames('/nonexistent/passwd', 1_070_000)).not.toBe(first);
    expect((await first).size).toBe(0);
  });
});
