/**
 * Builds a fake procfs tree (net/tcp, net/tcp6, <pid>/fd/*, exe, comm, status) in a temp
 * directory, written by hand from proc(5) — never by the code under test.
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { endianness, tmpdir } from 'node:os';
import { join } from 'node:path';

export const TCP_HEADER =
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
export const TCP6_HEADER =
  '  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';

/** One /proc/net/tcp row as the kernel prints it (get_tcp4_sock format string). */
export function procRow(
  sl: number,
  local: string,
  remote: string,
  st: string,
  uid: number,
  inode: number,
): string {
  return `${String(sl).padStart(4)}: ${local} ${remote} ${st} 00000000:00000000 00:00000000 00000000 ${String(uid).padStart(5)}        0 ${inode} 1 0000000000000000 100 0 0 10 0`;
}

export interface FakeProcess {
  readonly pid: number;
  readonly sockets: readonly number[];
  readonly exe?: string;
  readonly comm?: string;
  readonly uid?: number;
  /** No fd directory: a process that vanished between readdir and read. */
  readonly vanished?: boolean;
}

export interface FakeProc {
  readonly root: string;
  readonly passwd: string;
  cleanup(): void;
}

export function fakeProc(
  tables: { tcp?: string[]; tcp6?: string[] },
  processes: readonly FakeProcess[],
  passwd = '',
): FakeProc {
  const root = mkdtempSync(join(tmpdir(), 'pw-procfs-'));
  mkdirSync(join(root, 'net'));
  if (tables.tcp !== undefined)
    writeFileSync(join(root, 'net/tcp'), [TCP_HEADER, ...tables.tcp, ''].join('\n'));
  if (tables.tcp6 !== undefined)
    writeFileSync(join(root, 'net/tcp6'), [TCP6_HEADER, ...tables.tcp6, ''].join('\n'));
  for (const p of processes) {
    const dir = join(root, String(p.pid));
    mkdirSync(dir);
    if (p.vanished === true) continue;
    mkdirSync(join(dir, 'fd'));
    symlinkSync('/dev/null', join(dir, 'fd', '0'));
    symlinkSync('pipe:[4242]', join(dir, 'fd', '1'));
    p.sockets.forEach((inode, i) =>
      symlinkSync(`socket:[${inode}]`, join(dir, 'fd', String(i + 3))),
    );
    if (p.exe !== undefined) symlinkSync(p.exe, join(dir, 'exe'));
    if (p.comm !== undefined) writeFileSync(join(dir, 'comm'), `${p.comm}\n`);
    if (p.uid !== undefined) {
      writeFileSync(
        join(dir, 'status'),
        `Name:\t${p.comm ?? 'x'}\nPid:\t${p.pid}\nUid:\t${p.uid}\t${p.uid}\t${p.uid}\t${p.uid}\nGid:\t0\t0\t0\t0\n`,
      );
    }
  }
  const passwdPath = join(root, 'passwd');
  writeFileSync(passwdPath, passwd);
  return {
    root,
    passwd: passwdPath,
    cleanup: () => rmSync(root, { recursive: true, force: true }),
  };
}

/** `ADDR:PORT` as this host's kernel prints it: each 4-byte word reversed on little-endian. */
export function hostEndpoint(addressHex: string, port: number): string {
  const words = addressHex.match(/.{8}/g) ?? [];
  const ordered = words.map((w) =>
    endianness() === 'LE' ? (w.match(/../g) ?? []).reverse().join('') : w,
  );
  return `${ordered.join('').toUpperCase()}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}
