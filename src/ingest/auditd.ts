/**
 * auditd connect/accept records: a `type=SYSCALL` line (syscall 42 connect, 43 accept, 288
 * accept4 on x86_64, or the names when the log was interpreted with `ausearch -i`) and a
 * `type=SOCKADDR` line with the same `msg=audit(<epoch>.<ms>:<serial>)`. The saddr is the
 * peer: the destination of a connect, the source of an accept. IPv4 saddr: family 0x0002
 * (little-endian), port (big-endian), address, padding; IPv6: family 0x000a, port,
 * flowinfo(4), address(16), scope(4). Other families (AF_UNIX…) are not network events.
 */
import { formatTimestampNs } from '../audit/clock.js';
import { compact, endpointObject, type Ingested, type LineParser, Malformed } from './ingested.js';

const SYSCALLS: Record<string, 'connect' | 'accept'> = {
  '42': 'connect',
  '43': 'accept',
  '288': 'accept', // accept4
  connect: 'connect',
  accept: 'accept',
  accept4: 'accept',
};
const MSG = /msg=audit\((\d{1,12})\.(\d{1,3}):(\d{1,20})\):/;
const FIELD = /([A-Za-z0-9_-]+)=("[^"]*"|\S*)/g;
const UNSET_ID = '4294967295';
const MAX_OPEN = 256;
// Fields auditd logs hex-encoded when the value has spaces or control characters.
const HEX_FIELDS = new Set(['comm', 'exe', 'key', 'cwd']);

interface Open {
  serial: string;
  sec: number;
  ms: number;
  syscall?: Map<string, string>;
  saddr?: string;
}

export interface Sockaddr {
  readonly family: 'ipv4' | 'ipv6';
  readonly ip: string;
  readonly port: number;
}

/** Decodes a SOCKADDR hex string; null for non-IP families, Malformed for bad bytes. */
export function decodeSaddr(hex: string): Sockaddr | null | Malformed {
  if (!/^([0-9A-Fa-f]{2})+$/.test(hex)) return new Malformed('saddr is not hex');
  const b = Buffer.from(hex, 'hex');
  if (b.length < 2) return new Malformed('saddr too short');
  const family = b.readUInt16LE(0);
  if (family === 2) {
    if (b.length < 8) return new Malformed('IPv4 saddr too short');
    return { family: 'ipv4', port: b.readUInt16BE(2), ip: [...b.subarray(4, 8)].join('.') };
  }
  if (family === 10) {
    if (b.length < 24) return new Malformed('IPv6 saddr too short');
    const words: string[] = [];
    for (let i = 8; i < 24; i += 2) words.push(b.readUInt16BE(i).toString(16));
    return { family: 'ipv6', port: b.readUInt16BE(2), ip: compressIpv6(words) };
  }
  return null;
}

function compressIpv6(words: string[]): string {
  // Longest run of zero words (length ≥ 2) becomes "::" — RFC 5952 §4.2.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (words[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === '0') j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return words.join(':');
  return `${words.slice(0, best).join(':')}::${words.slice(best + bestLen).join(':')}`;
}

function fields(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const m of text.matchAll(FIELD)) {
    const key = m[1] ?? '';
    let value = m[2] ?? '';
    if (value.startsWith('"')) value = value.slice(1, -1);
    else if (HEX_FIELDS.has(key) && /^([0-9A-F]{2})+$/.test(value))
      value = Buffer.from(value, 'hex').toString('utf8');
    if (!out.has(key)) out.set(key, value);
  }
  return out;
}

export class AuditdParser implements LineParser {
  private readonly open = new Map<string, Open>();
  /** SYSCALL+SOCKADDR events of other syscalls or families (not network connects). */
  skipped = 0;

  line(text: string): readonly Ingested[] | Malformed {
    if (text.trim() === '') return [];
    const type = /^(?:node=\S+ )?type=([A-Z_]+) /.exec(text)?.[1];
    if (type === undefined) return new Malformed('no type=');
    const m = MSG.exec(text);
    if (m === null) return new Malformed('no msg=audit(<epoch>:<serial>)');
    const serial = m[3] ?? '';
    const done: Ingested[] = [];
    let entry = this.open.get(serial);
    if (entry === undefined) {
      // Records of one event are written together: a new serial closes the older ones.
      for (const old of this.open.values()) done.push(...this.finish(old));
      this.open.clear();
      entry = { serial, sec: Number(m[1]), ms: Number(m[2]) };
      this.open.set(serial, entry);
    }
    const rest = text.slice((m.index ?? 0) + m[0].length);
    if (type === 'SYSCALL') entry.syscall = fields(rest);
    else if (type === 'SOCKADDR') {
      const saddr = fields(rest).get('saddr');
      if (saddr === undefined) return new Malformed('SOCKADDR without saddr');
      if (!/^([0-9A-Fa-f]{2})+$/.test(saddr)) return new Malformed('saddr is not hex');
      entry.saddr = saddr;
    } else if (type === 'EOE') {
      this.open.delete(serial);
      done.push(...this.finish(entry));
    }
    if (this.open.size > MAX_OPEN) this.open.clear();
    return done;
  }

  end(): readonly Ingested[] {
    const done: Ingested[] = [];
    for (const e of this.open.values()) done.push(...this.finish(e));
    this.open.clear();
    return done;
  }

  private finish(e: Open): Ingested[] {
    const sc = e.syscall;
    if (sc === undefined || e.saddr === undefined) return [];
    const kind = SYSCALLS[sc.get('syscall') ?? ''];
    if (kind === undefined) {
      this.skipped++;
      return [];
    }
    const addr = decodeSaddr(e.saddr);
    if (addr === null || addr instanceof Malformed) {
      this.skipped++;
      return [];
    }
    const success = sc.get('success');
    const exit = sc.get('exit');
    // EINPROGRESS (-115): a non-blocking connect that had not finished yet.
    const outcome =
      success === 'yes'
        ? 'success'
        : exit === '-115' || exit === 'EINPROGRESS'
          ? 'unknown'
          : 'failure';
    const auid = sc.get('auid');
    const uid = sc.get('uid');
    const userName =
      auid !== undefined && auid !== UNSET_ID && !/^\d+$/.test(auid) ? auid : undefined;
    const loginId =
      auid !== undefined && auid !== UNSET_ID && /^\d+$/.test(auid) ? auid : undefined;
    const pid = Number(sc.get('pid'));
    const ppid = Number(sc.get('ppid'));
    const isConnect = kind === 'connect';
    const peer = endpointObject(addr.ip, addr.port);
    const tsNs = BigInt(e.sec) * 1_000_000_000n + BigInt(e.ms) * 1_000_000n;
    return [
      {
        input: {
          event: {
            action: isConnect ? 'ingest-auditd-connect' : 'ingest-auditd-accept',
            module: 'auditd',
            kind: 'event',
            category: ['network'],
            type: isConnect ? ['connection', 'start'] : ['connection', 'start', 'access'],
            outcome,
          },
          ...(isConnect ? { destination: peer } : { source: peer }),
          network: { transport: 'tcp', type: addr.family },
          process: compact({
            pid: Number.isInteger(pid) ? pid : undefined,
            parent: Number.isInteger(ppid) ? { pid: ppid } : undefined,
            name: sc.get('comm'),
            executable: sc.get('exe'),
          }),
          user: compact({ id: uid, name: userName }),
          auditd: compact({
            serial: e.serial,
            syscall: sc.get('syscall'),
            arch: sc.get('arch'),
            exit,
            success,
            auid: loginId ?? auid,
            key: sc.get('key'),
            saddr: e.saddr,
          }),
          ingest: { format: 'auditd', original_timestamp: formatTimestampNs(tsNs) },
        },
        sourceIp: isConnect ? null : addr.ip,
        sourcePort: isConnect ? null : addr.port,
        destinationIp: isConnect ? addr.ip : null,
        destinationPort: isConnect ? addr.port : null,
        communityId: null,
      },
    ];
  }
}
