/**
 * conntrack flow events (`conntrack -E -o timestamp,extended`):
 * `[<sec>.<usec>]\t [NEW] ipv4 2 tcp 6 120 SYN_SENT src=… dst=… sport=… dport=… [UNREPLIED]
 * src=… dst=… sport=… dport=…`. The microseconds are not zero-padded, so both halves are
 * parsed as integers. The first tuple is the original direction, the second the reply: a
 * reply whose source differs from the original destination reveals DNAT (the real
 * backend), a reply destination that differs from the original source reveals SNAT.
 */
import { isIP } from 'node:net';
import { formatTimestampNs } from '../audit/clock.js';
import type { JsonObject } from '../audit/event.js';
import { communityId } from '../gateway/community-id.js';
import { compact, endpointObject, type Ingested, type LineParser, Malformed } from './ingested.js';

const EVENT_TYPES = { NEW: 'new', UPDATE: 'update', DESTROY: 'destroy' } as const;
const HEAD = /^\s*(?:\[(\d{1,12})\.(\d{1,9})\]\s+)?\[(NEW|UPDATE|DESTROY)\]\s+(.*)$/;
const PROTO_NUMBERS: Record<string, number> = {
  tcp: 6,
  udp: 17,
  icmp: 1,
  icmpv6: 58,
  sctp: 132,
  dccp: 33,
  udplite: 136,
};

interface Tuple {
  src?: string;
  dst?: string;
  sport?: number;
  dport?: number;
  packets?: number;
  bytes?: number;
}

export class ConntrackParser implements LineParser {
  line(text: string): readonly Ingested[] | Malformed {
    if (text.trim() === '') return [];
    const m = HEAD.exec(text);
    if (m === null) return new Malformed('no [NEW]/[UPDATE]/[DESTROY] event');
    const tokens = (m[4] ?? '').split(/\s+/).filter((t) => t !== '');
    let i = 0;
    let l3: string | undefined;
    if (tokens[i] === 'ipv4' || tokens[i] === 'ipv6') {
      l3 = tokens[i];
      i += 2; // family name and number
    }
    const proto = tokens[i];
    const protoNumber = Number(tokens[i + 1]);
    if (proto === undefined || !/^[a-z0-9]+$/.test(proto) || !Number.isInteger(protoNumber))
      return new Malformed('no layer-4 protocol');
    i += 2;
    let timeout: number | undefined;
    if (tokens[i] !== undefined && /^\d+$/.test(tokens[i] ?? '')) timeout = Number(tokens[i++]);
    let state: string | undefined;
    if (tokens[i] !== undefined && /^[A-Z_]+$/.test(tokens[i] ?? '')) state = tokens[i++];
    const orig: Tuple = {};
    const reply: Tuple = {};
    const flags: string[] = [];
    const extra: Record<string, string> = {};
    let cur = orig;
    for (; i < tokens.length; i++) {
      const t = tokens[i] ?? '';
      if (t.startsWith('[') && t.endsWith(']')) {
        flags.push(t.slice(1, -1).toLowerCase());
        continue;
      }
      const eq = t.indexOf('=');
      if (eq <= 0) return new Malformed(`unexpected token ${JSON.stringify(t.slice(0, 40))}`);
      const key = t.slice(0, eq);
      const value = t.slice(eq + 1);
      if (key === 'src' && cur.src !== undefined) cur = reply;
      switch (key) {
        case 'src':
        case 'dst':
          if (isIP(value) === 0) return new Malformed(`${key} is not an IP address`);
          cur[key] = value;
          break;
        case 'sport':
        case 'dport':
        case 'packets':
        case 'bytes': {
          const n = Number(value);
          if (!/^\d+$/.test(value) || ((key === 'sport' || key === 'dport') && n > 65535))
            return new Malformed(`bad ${key}`);
          cur[key] = n;
          break;
        }
        default:
          extra[key] = value;
      }
    }
    if (orig.src === undefined || orig.dst === undefined) return new Malformed('no original tuple');
    const type = EVENT_TYPES[m[3] as keyof typeof EVENT_TYPES];
    const tsNs =
      m[1] !== undefined ? BigInt(m[1]) * 1_000_000_000n + BigInt(m[2] ?? '0') * 1000n : null;
    const ported = orig.sport !== undefined && orig.dport !== undefined;
    const cid =
      ported && PROTO_NUMBERS[proto] !== undefined
        ? communityId({
            saddr: orig.src,
            daddr: orig.dst,
            sport: orig.sport ?? 0,
            dport: orig.dport ?? 0,
            proto: PROTO_NUMBERS[proto],
          })
        : null;
    const dnat =
      reply.src !== undefined && reply.src !== orig.dst
        ? endpointObject(reply.src, reply.sport ?? null)
        : undefined;
    const dnatPort =
      reply.sport !== undefined && reply.sport !== orig.dport && dnat === undefined
        ? endpointObject(orig.dst, reply.sport)
        : undefined;
    const snat =
      reply.dst !== undefined && reply.dst !== orig.src
        ? endpointObject(reply.dst, reply.dport ?? null)
        : undefined;
    const source: JsonObject = {
      ...endpointObject(orig.src, orig.sport ?? null),
      ...(snat ? { nat: snat } : {}),
    };
    const nat = dnat ?? dnatPort;
    const destination: JsonObject = {
      ...endpointObject(orig.dst, orig.dport ?? null),
      ...(nat ? { nat } : {}),
    };
    const tupleObject = (t: Tuple): JsonObject =>
      compact({
        src: t.src,
        dst: t.dst,
        sport: t.sport,
        dport: t.dport,
        packets: t.packets,
        bytes: t.bytes,
      });
    return [
      {
        input: {
          event: {
            action: `ingest-conntrack-${type}`,
            module: 'conntrack',
            kind: 'event',
            category: ['network'],
            type:
              type === 'new'
                ? ['connection', 'start']
                : type === 'destroy'
                  ? ['connection', 'end']
                  : ['connection', 'change'],
            outcome: 'unknown',
          },
          source,
          destination,
          network: compact({
            transport: proto,
            iana_number: String(protoNumber),
            type: l3,
            community_id: cid ?? undefined,
          }),
          conntrack: compact({
            event: type,
            state,
            timeout,
            flags: flags.length > 0 ? flags : undefined,
            original: tupleObject(orig),
            reply: reply.src !== undefined ? tupleObject(reply) : undefined,
            attributes: Object.keys(extra).length > 0 ? extra : undefined,
          }),
          ingest: compact({
            format: 'conntrack',
            original_timestamp: tsNs === null ? undefined : formatTimestampNs(tsNs),
          }),
        },
        sourceIp: orig.src,
        sourcePort: orig.sport ?? null,
        destinationIp: orig.dst,
        destinationPort: orig.dport ?? null,
        communityId: cid,
      },
    ];
  }

  end(): readonly Ingested[] {
    return [];
  }
}
