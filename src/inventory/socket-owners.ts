/**
 * Which processes hold a socket: walk /proc/<pid>/fd/* for links `socket:[<inode>]`, then
 * read the holder's exe, comm and uid. Processes that vanish or deny access are skipped.
 */
import { readFile, readdir, readlink, stat } from 'node:fs/promises';

/** A process holding a socket; fields it would not disclose are null. */
export interface SocketOwner {
  readonly pid: number;
  readonly exe: string | null;
  readonly comm: string | null;
  readonly uid: number | null;
  readonly user: string | null;
}

export interface SocketOwnerOptions {
  /** Where procfs is mounted (default /proc); tests point it at a fixture tree. */
  readonly procRoot?: string;
  /** The passwd file for user names (default /etc/passwd). */
  readonly passwdPath?: string;
  /** Stop at the first holder of each inode (identity lookups need one process, fast). */
  readonly firstOnly?: boolean;
  /** Look at processes of this uid first — the socket's creator usually still holds it. */
  readonly preferUid?: number;
}

/** fd directories read at once: enough to hide syscall latency, few enough to stay polite. */
const CONCURRENCY = 16;
const PASSWD_TTL_MS = 60_000;
const SOCKET_LINK = /^socket:\[(\d+)\]$/;

/** Map each wanted inode to the processes holding it (inodes nobody holds are absent). */
export async function findSocketOwners(
  inodes: Iterable<number>,
  options: SocketOwnerOptions = {},
): Promise<Map<number, SocketOwner[]>> {
  const root = options.procRoot ?? '/proc';
  const wanted = new Set([...inodes].filter((inode) => inode > 0));
  const found = new Map<number, SocketOwner[]>();
  if (wanted.size === 0) return found;
  const pids = await orderedPids(root, options.preferUid);
  const users = await passwdNames(options.passwdPath ?? '/etc/passwd');
  const done = (): boolean => options.firstOnly === true && found.size === wanted.size;

  for (let at = 0; at < pids.length && !done(); at += CONCURRENCY) {
    const batch = pids.slice(at, at + CONCURRENCY);
    const held = await Promise.all(batch.map((pid) => socketInodesOf(root, pid, wanted)));
    for (let i = 0; i < batch.length; i++) {
      const pid = batch[i];
      const inodesHeld = held[i];
      if (pid === undefined || inodesHeld === undefined || inodesHeld.length === 0) continue;
      const pending = inodesHeld.filter(
        (inode) => !(options.firstOnly === true && found.has(inode)),
      );
      if (pending.length === 0) continue;
      const owner = await describeProcess(root, pid, users);
      for (const inode of pending) {
        const list = found.get(inode);
        if (list === undefined) found.set(inode, [owner]);
        else list.push(owner);
      }
    }
  }
  return found;
}

/** Numeric entries of procRoot; those owned by `preferUid` first when given. */
async function orderedPids(root: string, preferUid: number | undefined): Promise<number[]> {
  const names = await readdir(root);
  const pids = names.filter((name) => /^\d+$/.test(name)).map(Number);
  if (preferUid === undefined) return pids;
  const owners = await Promise.all(
    pids.map((pid) =>
      stat(`${root}/${pid}`).then(
        (s) => s.uid,
        () => -1,
      ),
    ),
  );
  const first = pids.filter((_pid, i) => owners[i] === preferUid);
  const rest = pids.filter((_pid, i) => owners[i] !== preferUid);
  return [...first, ...rest];
}

/** The wanted socket inodes among a process's fds; empty if it vanished or denies access. */
async function socketInodesOf(
  root: string,
  pid: number,
  wanted: ReadonlySet<number>,
): Promise<number[]> {
  const dir = `${root}/${pid}/fd`;
  let fds: string[];
  try {
    fds = await readdir(dir);
  } catch {
    return [];
  }
  const links = await Promise.all(fds.map((fd) => readlink(`${dir}/${fd}`).catch(() => '')));
  const held: number[] = [];
  for (const link of links) {
    const match = SOCKET_LINK.exec(link);
    const inode = match?.[1] === undefined ? 0 : Number(match[1]);
    if (wanted.has(inode) && !held.includes(inode)) held.push(inode);
  }
  return held;
}

async function describeProcess(
  root: string,
  pid: number,
  users: ReadonlyMap<number, string>,
): Promise<SocketOwner> {
  const [exe, comm, status] = await Promise.all([
    readlink(`${root}/${pid}/exe`).catch(() => null),
    readFile(`${root}/${pid}/comm`, 'utf8').then(
      (text) => text.replace(/\n$/, ''),
      () => null,
    ),
    readFile(`${root}/${pid}/status`, 'utf8').catch(() => null),
  ]);
  const uid = status === null ? null : effectiveUid(status);
  return { pid, exe, comm, uid, user: uid === null ? null : (users.get(uid) ?? null) };
}

/** `Uid:\treal\teffective\tsaved\tfs` in /proc/<pid>/status — proc(5). */
export function effectiveUid(status: string): number | null {
  const match = /^Uid:\s+\d+\s+(\d+)/m.exec(status);
  return match?.[1] === undefined ? null : Number(match[1]);
}

let passwdCache: { path: string; loadedAt: number; names: Promise<Map<number, string>> } | null =
  null;

/** uid → user name from a passwd file, cached for a minute; empty when unreadable. */
export function passwdNames(path = '/etc/passwd', now = Date.now()): Promise<Map<number, string>> {
  if (
    passwdCache !== null &&
    passwdCache.path === path &&
    now - passwdCache.loadedAt < PASSWD_TTL_MS
  ) {
    return passwdCache.names;
  }
  const names = readFile(path, 'utf8').then(parsePasswd, () => new Map<number, string>());
  passwdCache = { path, loadedAt: now, names };
  return names;
}

/** `name:password:uid:gid:gecos:home:shell` per line — passwd(5); the first name of a uid wins. */
export function parsePasswd(text: string): Map<number, string> {
  const names = new Map<number, string>();
  for (const line of text.split('\n')) {
    const [name, , uidText] = line.split(':', 3);
    if (name === undefined || name.length === 0 || name.startsWith('#') || uidText === undefined)
      continue;
    if (!/^\d{1,10}$/.test(uidText)) continue;
    const uid = Number(uidText);
    if (!names.has(uid)) names.set(uid, name);
  }
  return names;
}
