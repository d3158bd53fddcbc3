/**
 * Rule conditions compiled to matchers that answer in three values. At the connection stage
 * a fact the protocol has not revealed yet (user, database, …) is `unknown`: it neither
 * passes nor fails, and is checked again per action. At the action stage every fact is
 * final, and what is still unknown fails closed: it never satisfies an allow or alert
 * rule, and it does satisfy a deny rule where the brief of the condition says so (an
 * unknown process, an unknown SQL class, an ambiguous HTTP path, an unqualified table).
 */
import net from 'node:net';
import type { ActionFacts, ConnectionFacts } from './action.js';
import { compileGlob, type GlobSyntax } from './glob.js';
import { parseCidr, type Cidr } from './ip.js';
import {
  EXE_GLOB,
  HTTP_PATH_GLOB,
  KEY_GLOB,
  TABLE_GLOB,
  type RawConditions,
  type RawTime,
} from './schema.js';
import {
  clockFor,
  inWindow,
  localDay,
  parseCalendarDay,
  parseTimeWindow,
  type TimeWindow,
  type ZoneClock,
} from './time-window.js';

/** Three-valued answer of a condition. */
export const Tri = {
  no: 0,
  match: 1,
  /** Not decidable yet (connection stage only). */
  unknown: 2,
} as const;
export type Tri = (typeof Tri)[keyof typeof Tri];

/**
 * Test one condition. `action` is undefined at the connection stage. `failClosed` is true
 * for deny rules: facts that are unknown at the action stage then satisfy the condition.
 */
export type ConditionTest = (
  conn: ConnectionFacts,
  action: ActionFacts | undefined,
  failClosed: boolean,
  atMs: number,
) => Tri;

/** A compiled condition; request-level ones are never asked at the connection stage. */
export interface Condition {
  readonly key: keyof RawConditions;
  readonly level: 'connection' | 'request';
  readonly test: ConditionTest;
}

/** What compiling a rule's conditions yields; `sources` is kept for firewall export. */
export interface CompiledConditions {
  readonly conditions: readonly Condition[];
  readonly sources?: readonly Cidr[];
}

const MAPPED_V4 = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i;
// Dot segments, encoded dot/slash/backslash or a backslash before the query: a server may
// resolve the path differently from the glob, so it is ambiguous.
const AMBIGUOUS_PATH = /^[^?#]*?(?:\/\.{1,2}(?:[/?#]|$)|%2e|%2f|%5c|\\)/i;

/** Compile the conditions of one rule (already validated by the schema). */
export function compileConditions(
  raw: RawConditions,
  clocks: Map<string, ZoneClock>,
): CompiledConditions {
  const conditions: Condition[] = [];
  let sources: Cidr[] | undefined;
  if (raw.sources !== undefined) {
    sources = raw.sources.map(mustCidr);
    conditions.push({ key: 'sources', level: 'connection', test: sourcesTest(sources) });
  }
  if (raw.users !== undefined) conditions.push(nameCondition('users', raw.users, (c) => c.user));
  if (raw.databases !== undefined) {
    conditions.push(nameCondition('databases', raw.databases, (c) => c.database));
  }
  if (raw.applications !== undefined) {
    conditions.push(nameCondition('applications', raw.applications, (c) => c.application));
  }
  if (raw.tls_subjects !== undefined) {
    conditions.push(nameCondition('tls_subjects', raw.tls_subjects, (c) => c.tlsSubject));
  }
  if (raw.grant !== undefined)
    conditions.push({ key: 'grant', level: 'connection', test: grantTest });
  if (raw.process !== undefined) conditions.push(processCondition(raw.process));
  if (raw.time !== undefined) conditions.push(timeCondition(raw.time, clocks));
  if (raw.sql !== undefined) conditions.push(sqlCondition(raw.sql));
  if (raw.redis !== undefined) conditions.push(redisCondition(raw.redis));
  if (raw.http !== undefined) conditions.push(httpCondition(raw.http));
  return sources === undefined ? { conditions } : { conditions, sources };
}

function mustCidr(text: string): Cidr {
  const cidr = parseCidr(text);
  if (typeof cidr === 'string') throw new TypeError(`unvalidated CIDR ${text}`);
  return cidr;
}

function mustGlob(pattern: string, syntax: GlobSyntax): RegExp {
  const re = compileGlob(pattern, syntax);
  if (typeof re === 'string') throw new TypeError(`unvalidated glob ${pattern}: ${re}`);
  return re;
}

function sourcesTest(cidrs: readonly Cidr[]): ConditionTest {
  const list = new net.BlockList();
  for (const c of cidrs) list.addSubnet(c.address, c.prefix, c.family);
  return (conn, _action, failClosed) => {
    const ip = conn.sourceIp;
    let hit: boolean;
    if (net.isIPv4(ip)) {
      hit = list.check(ip, 'ipv4');
    } else if (net.isIPv6(ip)) {
      // A dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d; match them as IPv4.
      const mapped = MAPPED_V4.exec(ip);
      hit = mapped?.[1] !== undefined ? list.check(mapped[1], 'ipv4') : list.check(ip, 'ipv6');
    } else {
      return failClosed ? Tri.match : Tri.no;
    }
    return hit ? Tri.match : Tri.no;
  };
}

function nameCondition(
  key: 'users' | 'databases' | 'applications' | 'tls_subjects',
  names: readonly string[],
  fact: (conn: ConnectionFacts) => string | undefined,
): Condition {
  const set = new Set(names);
  return {
    key,
    level: 'connection',
    test: (conn, action) => {
      const value = fact(conn);
      // Not revealed yet at accept; at the action stage an absent value is final.
      if (value === undefined) return action === undefined ? Tri.unknown : Tri.no;
      return set.has(value) ? Tri.match : Tri.no;
    },
  };
}

const GRANT_PREFIX = 'grant:';

/** An active grant (src/identity/grants.ts) reaches policy as the group `grant:<listener>`. */
const grantTest: ConditionTest = (conn, action) => {
  const groups = conn.groups;
  if (groups === undefined) return action === undefined ? Tri.unknown : Tri.no;
  const want = GRANT_PREFIX.length + conn.listener.length;
  for (const g of groups) {
    if (g.length === want && g.startsWith(GRANT_PREFIX) && g.endsWith(conn.listener)) {
      return Tri.match;
    }
  }
  return Tri.no;
};

function processCondition(raw: NonNullable<RawConditions['process']>): Condition {
  const exes = raw.exe?.map((p) => mustGlob(p, EXE_GLOB));
  const uids = raw.uid === undefined ? undefined : new Set(raw.uid);
  return {
    key: 'process',
    level: 'connection',
    test: (conn, action, failClosed) => {
      const proc = conn.process;
      // undefined: not looked up yet; null: looked up, not a local process we could name.
      if (proc === undefined && action === undefined) return Tri.unknown;
      if (proc === undefined || proc === null) return failClosed ? Tri.match : Tri.no;
      if (uids !== undefined && !uids.has(proc.uid)) return Tri.no;
      if (exes !== undefined && !anyTest(exes, proc.exe)) return Tri.no;
      return Tri.match;
    },
  };
}

function timeCondition(raw: RawTime, clocks: Map<string, ZoneClock>): Condition {
  const windows: TimeWindow[] = [];
  for (const text of raw.windows) {
    const w = parseTimeWindow(text, clocks);
    if (typeof w === 'string') throw new TypeError(`unvalidated window ${text}`);
    windows.push(w);
  }
  const dateClock = clockFor(raw.zone, clocks);
  const fromDay = raw.from === undefined ? -Infinity : (parseCalendarDay(raw.from) ?? Infinity);
  const untilDay = raw.until === undefined ? Infinity : (parseCalendarDay(raw.until) ?? -Infinity);
  const hasDates = raw.from !== undefined || raw.until !== undefined;
  return {
    key: 'time',
    level: 'connection',
    test: (_conn, _action, _failClosed, atMs) => {
      if (hasDates) {
        const day = localDay(dateClock.localMs(atMs));
        if (day < fromDay || day > untilDay) return Tri.no;
      }
      if (windows.length === 0) return Tri.match;
      for (const w of windows) if (inWindow(w, atMs)) return Tri.match;
      return Tri.no;
    },
  };
}

function sqlCondition(raw: NonNullable<RawConditions['sql']>): Condition {
  const classes = raw.classes === undefined ? undefined : new Set<string>(raw.classes);
  // An operation names a statement or its first words: CREATE matches CREATE TABLE.
  const operations =
    raw.operations === undefined
      ? undefined
      : new RegExp(`^(?:${raw.operations.map((o) => o.toUpperCase()).join('|')})(?: |$)`, 'i');
  const tables = raw.tables?.map(tablePattern);
  return {
    key: 'sql',
    level: 'request',
    test: (_conn, action, failClosed) => {
      if (action === undefined) return Tri.unknown;
      if (action.protocol !== 'postgres' && action.protocol !== 'mysql') return Tri.no;
      const unknownClass = action.sqlClass === 'unknown';
      if (classes !== undefined && !classes.has(action.sqlClass) && !(failClosed && unknownClass)) {
        return Tri.no;
      }
      if (operations !== undefined && !operations.test(action.operation)) {
        // A statement we could not classify may be anything, a denied one included.
        if (!(failClosed && unknownClass)) return Tri.no;
      }
      if (tables !== undefined && !tablesMatch(tables, action.tables, failClosed, unknownClass)) {
        return Tri.no;
      }
      return Tri.match;
    },
  };
}

interface TablePattern {
  readonly full: RegExp;
  /** The last dotted part of a qualified pattern, for unqualified names in deny rules. */
  readonly last?: RegExp;
}

function tablePattern(pattern: string): TablePattern {
  const dot = pattern.lastIndexOf('.');
  if (dot < 0) {
    // A bare name matches the table in any schema: orders ~ public.orders.
    return { full: mustGlob(pattern, { ...TABLE_GLOB, lead: '(?:[^.]*\\.)*' }) };
  }
  return {
    full: mustGlob(pattern, TABLE_GLOB),
    last: mustGlob(pattern.slice(dot + 1), TABLE_GLOB),
  };
}

/**
 * Allow and alert rules grant access, so every table must match (and there must be one);
 * a deny rule matches when any table does. An unqualified name may resolve to any schema
 * on the search path, so deny rules compare it with a qualified pattern's last part.
 */
function tablesMatch(
  patterns: readonly TablePattern[],
  tables: readonly string[],
  failClosed: boolean,
  unknownClass: boolean,
): boolean {
  if (!failClosed) {
    if (tables.length === 0) return false;
    for (const t of tables) {
      if (!patterns.some((p) => p.full.test(t))) return false;
    }
    return true;
  }
  if (unknownClass && tables.length === 0) return true;
  for (const t of tables) {
    for (const p of patterns) {
      if (p.full.test(t)) return true;
      if (p.last !== undefined && !t.includes('.') && p.last.test(t)) return true;
    }
  }
  return false;
}

function redisCondition(raw: NonNullable<RawConditions['redis']>): Condition {
  const commands =
    raw.commands === undefined ? undefined : new Set(raw.commands.map((c) => c.toLowerCase()));
  const categories =
    raw.categories === undefined
      ? undefined
      : new Set(raw.categories.map((c) => c.slice(1).toLowerCase()));
  const allCategories = categories?.has('all') === true;
  const keys = raw.keys?.map((p) => mustGlob(p, KEY_GLOB));
  return {
    key: 'redis',
    level: 'request',
    test: (_conn, action, failClosed) => {
      if (action === undefined) return Tri.unknown;
      if (action.protocol !== 'redis') return Tri.no;
      if (keys !== undefined && !keysMatch(keys, action, failClosed)) return Tri.no;
      if (commands !== undefined && !commandMatches(commands, action.command)) return Tri.no;
      if (categories !== undefined && !allCategories) {
        let hit = false;
        for (const c of action.categories) {
          if (categories.has(c)) {
            hit = true;
            break;
          }
        }
        if (!hit) return Tri.no;
      }
      return Tri.match;
    },
  };
}

/**
 * Like tables: an allow or alert rule needs every key to match (and at least one key); a
 * deny rule matches when any key does — or when the keys are not all known (more than the
 * gateway reads, cut, unknown command), since the one not seen may be the denied one.
 */
function keysMatch(
  patterns: readonly RegExp[],
  action: Extract<ActionFacts, { protocol: 'redis' }>,
  failClosed: boolean,
): boolean {
  const keys = action.keys;
  const complete = keys !== undefined && action.keysComplete !== false;
  if (failClosed) {
    if (!complete) return true;
    for (const k of keys) if (anyTest(patterns, k)) return true;
    return false;
  }
  if (!complete || keys.length === 0) return false;
  for (const k of keys) if (!anyTest(patterns, k)) return false;
  return true;
}

/** `config` covers every `config|…` subcommand; `config|set` only that one. */
function commandMatches(commands: ReadonlySet<string>, command: string): boolean {
  if (commands.has(command)) return true;
  const bar = command.indexOf('|');
  return bar > 0 && commands.has(command.slice(0, bar));
}

function httpCondition(raw: NonNullable<RawConditions['http']>): Condition {
  const methods =
    raw.methods === undefined ? undefined : new Set(raw.methods.map((m) => m.toUpperCase()));
  const paths = raw.paths?.map((p) => mustGlob(p, HTTP_PATH_GLOB));
  return {
    key: 'http',
    level: 'request',
    test: (_conn, action, failClosed) => {
      if (action === undefined) return Tri.unknown;
      if (action.protocol !== 'http') return Tri.no;
      if (methods !== undefined && !methods.has(action.method)) return Tri.no;
      if (paths !== undefined) {
        const path = action.path;
        if (!path.startsWith('/') || AMBIGUOUS_PATH.test(path)) {
          return failClosed ? Tri.match : Tri.no;
        }
        if (!anyTest(paths, path)) return Tri.no;
      }
      return Tri.match;
    },
  };
}

function anyTest(patterns: readonly RegExp[], text: string): boolean {
  for (const p of patterns) if (p.test(text)) return true;
  return false;
}
