/**
 * The `policies:` map of the config file (DESIGN §7) as a zod v4 schema. Structure is
 * checked by zod; every value that compiles to a matcher (CIDR, glob, time window, zone,
 * date) is checked here too, so a policy that passes the schema always compiles.
 */
import { z } from 'zod';
import { parseCidr } from './ip.js';
import { compileGlob } from './glob.js';
import { isValidZone, parseCalendarDay, parseTimeWindow, type ZoneClock } from './time-window.js';
import type { SqlClass } from './action.js';

/** Glob dialects: exe paths and HTTP paths split on `/`, table names on `.`. */
export const EXE_GLOB = { stops: '/' } as const;
/** HTTP paths: `*` stops at `/`, nothing matches into the query string, which is ignored. */
export const HTTP_PATH_GLOB = { stops: '/?#', tail: '(?:[?#][\\s\\S]*)?' } as const;
/** SQL tables: case-insensitive, `*` stays inside one dotted part. */
export const TABLE_GLOB = { stops: '.', caseInsensitive: true } as const;

export const SQL_CLASSES = ['read', 'write', 'ddl', 'dcl', 'tcl', 'other', 'unknown'] as const;

/** Redis ACL categories (ACL CAT, Redis 7), written with their `@`. */
export const REDIS_CATEGORIES = [
  'keyspace',
  'read',
  'write',
  'set',
  'sortedset',
  'list',
  'hash',
  'string',
  'bitmap',
  'hyperloglog',
  'geo',
  'stream',
  'pubsub',
  'admin',
  'fast',
  'slow',
  'blocking',
  'dangerous',
  'connection',
  'transaction',
  'scripting',
  'all',
] as const;

export const CONNECTION_KEYS = [
  'sources',
  'users',
  'databases',
  'applications',
  'tls_subjects',
  'process',
  'time',
  'grant',
] as const;
export const REQUEST_KEYS = ['sql', 'redis', 'http'] as const;

/** A throwaway clock cache: validation only needs to know the window parses. */
const scratchClocks = new Map<string, ZoneClock>();

const nonEmptyString = z.string().min(1);

function checked(what: string, check: (text: string) => string | true): z.ZodType<string> {
  return z.string().superRefine((text, ctx) => {
    const result = check(text);
    if (result !== true) {
      const why = result === '' ? '' : ` (${result})`;
      ctx.addIssue({
        code: 'custom',
        message: `expected ${what}, got ${JSON.stringify(text)}${why}`,
      });
    }
  });
}

const cidr = checked('CIDR like 10.0.0.0/8', (text) => {
  const result = parseCidr(text);
  if (typeof result !== 'string') return true;
  return result === 'not an IP address' ? '' : result;
});

function glob(what: string, syntax: Parameters<typeof compileGlob>[1]): z.ZodType<string> {
  return checked(what, (text) => {
    const result = compileGlob(text, syntax);
    return typeof result === 'string' ? result : true;
  });
}

function list<T extends z.ZodType>(item: T): z.ZodArray<T> {
  return z.array(item).min(1);
}

const processCondition = z
  .strictObject({
    exe: list(glob('an absolute path or glob like /usr/bin/*', EXE_GLOB)).optional(),
    uid: list(z.int().min(0)).optional(),
  })
  .refine((p) => p.exe !== undefined || p.uid !== undefined, {
    message: 'expected exe and/or uid, got neither',
  });

/** A normalized time condition: windows OR-ed, then an optional date range in `zone`. */
export interface RawTime {
  readonly windows: readonly string[];
  readonly from?: string;
  readonly until?: string;
  /** Zone of the dates: given, else the first window's, else UTC. */
  readonly zone: string;
}

const WINDOW_EXAMPLE = 'a window like "Mon-Fri 08:00-18:00 Europe/Berlin"';
const TIME_KEYS = ['windows', 'dates', 'zone'];

/** `time:` is a window, a list of windows, or { windows?, dates?: { from?, until? }, zone? }. */
const timeCondition = z.unknown().transform((value, ctx): RawTime => {
  const fail = (message: string, path: (string | number)[] = []): void => {
    ctx.addIssue({ code: 'custom', message, path, input: value });
  };
  const windows: string[] = [];
  const addWindow = (item: unknown, path: (string | number)[]): void => {
    if (typeof item !== 'string') {
      ctx.addIssue({
        code: 'custom',
        message: `expected ${WINDOW_EXAMPLE}, got ${describe(item)}`,
        path,
      });
      return;
    }
    const parsed = parseTimeWindow(item, scratchClocks);
    if (typeof parsed === 'string') {
      ctx.addIssue({ code: 'custom', message: `${parsed} in ${JSON.stringify(item)}`, path });
      return;
    }
    windows.push(item.trim());
  };
  const addWindows = (item: unknown, path: (string | number)[]): void => {
    if (Array.isArray(item)) {
      if (item.length === 0) fail('expected at least one window, got an empty list', path);
      item.forEach((w: unknown, i) => addWindow(w, [...path, i]));
    } else {
      addWindow(item, path);
    }
  };
  if (typeof value === 'string' || Array.isArray(value)) {
    addWindows(value, []);
    return { windows, zone: zoneOfFirst(windows) };
  }
  if (value === null || typeof value !== 'object') {
    fail(`expected ${WINDOW_EXAMPLE}, a list of them, or a map, got ${describe(value)}`);
    return z.NEVER;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!TIME_KEYS.includes(key)) fail(unknownKeyMessage(key, TIME_KEYS), [key]);
  }
  if (record.windows !== undefined) addWindows(record.windows, ['windows']);
  let zone = zoneOfFirst(windows);
  if (record.zone !== undefined) {
    if (typeof record.zone !== 'string' || !isValidZone(record.zone)) {
      fail(`expected IANA time zone like Europe/Berlin, got ${describe(record.zone)}`, ['zone']);
    } else {
      zone = record.zone;
    }
  }
  const out: { windows: string[]; zone: string; from?: string; until?: string } = { windows, zone };
  const dates = record.dates;
  if (dates !== undefined) {
    if (dates === null || typeof dates !== 'object' || Array.isArray(dates)) {
      fail(`expected { from, until } dates, got ${describe(dates)}`, ['dates']);
      return z.NEVER;
    }
    const d = dates as Record<string, unknown>;
    for (const key of Object.keys(d)) {
      if (key !== 'from' && key !== 'until')
        fail(unknownKeyMessage(key, ['from', 'until']), ['dates', key]);
    }
    for (const key of ['from', 'until'] as const) {
      if (d[key] === undefined) continue;
      const day = calendarDate(d[key]);
      if (day === null) {
        fail(`expected a date like 2026-12-01, got ${describe(d[key])}`, ['dates', key]);
      } else {
        out[key] = day;
      }
    }
    if (out.from !== undefined && out.until !== undefined && out.from > out.until) {
      fail(`expected from <= until, got ${out.from} > ${out.until}`, ['dates']);
    }
  }
  if (windows.length === 0 && dates === undefined && record.windows === undefined) {
    fail('expected windows and/or dates, got neither');
  }
  return out;
});

function zoneOfFirst(windows: readonly string[]): string {
  const first = windows[0];
  return first === undefined ? 'UTC' : (first.split(/\s+/)[2] ?? 'UTC');
}

/** `2026-12-01`, or a Date at UTC midnight as YAML 1.1 timestamps produce. */
function calendarDate(value: unknown): string | null {
  const text =
    value instanceof Date && !Number.isNaN(value.getTime())
      ? value.toISOString().slice(0, 10)
      : value;
  if (typeof text !== 'string' || parseCalendarDay(text) === null) return null;
  return text;
}

const sqlCondition = z
  .strictObject({
    classes: list(z.enum(SQL_CLASSES)).optional(),
    operations: list(
      checked(
        'an SQL keyword like SELECT or CREATE TABLE',
        (t) => /^[A-Za-z]+( [A-Za-z]+)*$/.test(t) || '',
      ),
    ).optional(),
    tables: list(glob('a table or glob like public.* or orders', TABLE_GLOB)).optional(),
  })
  .refine((s) => s.classes ?? s.operations ?? s.tables, {
    message: 'expected classes, operations and/or tables, got none',
  });

const redisCondition = z
  .strictObject({
    commands: list(
      checked(
        'a Redis command like get or config|set',
        (t) => /^[A-Za-z][A-Za-z0-9_.|-]*$/.test(t) || '',
      ),
    ).optional(),
    categories: list(
      checked(`an ACL category like @read (one of @${REDIS_CATEGORIES.join(', @')})`, (t) =>
        t.startsWith('@') &&
        (REDIS_CATEGORIES as readonly string[]).includes(t.slice(1).toLowerCase())
          ? true
          : '',
      ),
    ).optional(),
  })
  .refine((r) => r.commands ?? r.categories, {
    message: 'expected commands and/or categories, got none',
  });

const httpCondition = z
  .strictObject({
    methods: list(
      checked('an HTTP method like GET', (t) => /^[A-Za-z]+$/.test(t) || ''),
    ).optional(),
    paths: list(
      glob('a path or glob like /api/**', HTTP_PATH_GLOB).refine(
        (p) => p.startsWith('/') || p.startsWith('*'),
        {
          message: 'expected a path starting with /',
        },
      ),
    ).optional(),
  })
  .refine((h) => h.methods ?? h.paths, { message: 'expected methods and/or paths, got none' });

/** Rule conditions: every key present must match (AND); entries within a key are OR-ed. */
export const conditionsSchema = z.strictObject({
  sources: list(cidr).optional(),
  users: list(nonEmptyString).optional(),
  databases: list(nonEmptyString).optional(),
  applications: list(nonEmptyString).optional(),
  tls_subjects: list(nonEmptyString).optional(),
  process: processCondition.optional(),
  time: timeCondition.optional(),
  sql: sqlCondition.optional(),
  redis: redisCondition.optional(),
  http: httpCondition.optional(),
  grant: z.literal('required').optional(),
});

const RULE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]*$/;

export const ruleSchema = z
  .strictObject({
    id: checked('a rule id of letters, digits and . _ : -', (t) => RULE_ID.test(t) || ''),
    description: z.string().optional(),
    allow: conditionsSchema.optional(),
    deny: conditionsSchema.optional(),
    alert: conditionsSchema.optional(),
  })
  .superRefine((rule, ctx) => {
    const kinds = (['allow', 'deny', 'alert'] as const).filter((k) => rule[k] !== undefined);
    if (kinds.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        message: `expected exactly one of allow, deny, alert, got ${kinds.length === 0 ? 'none' : kinds.join(' and ')}`,
      });
    }
  });

export const policySchema = z.strictObject({
  default: z.enum(['deny', 'allow']).optional(),
  rules: z.array(ruleSchema).optional(),
});

/**
 * Duplicate rule ids, found on the raw map so they are reported even when zod stopped at
 * another problem in the same policy.
 */
export function duplicateRuleIds(raw: unknown): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  if (raw === null || typeof raw !== 'object') return issues;
  for (const [name, policy] of Object.entries(raw)) {
    if (policy === null || typeof policy !== 'object') continue;
    const rules: unknown = (policy as Record<string, unknown>).rules;
    if (!Array.isArray(rules)) continue;
    const seen = new Map<string, number>();
    rules.forEach((rule: unknown, index) => {
      if (rule === null || typeof rule !== 'object') return;
      const id: unknown = (rule as Record<string, unknown>).id;
      if (typeof id !== 'string') return;
      const first = seen.get(id);
      if (first === undefined) {
        seen.set(id, index);
        return;
      }
      issues.push({
        path: [name, 'rules', index, 'id'],
        message: `expected a unique rule id, got "${id}" again (first at rules[${first}])`,
      });
    });
  }
  return issues;
}

/** The whole `policies:` map: policy name → policy. */
export const policiesSchema = z.record(nonEmptyString, policySchema);

export type RawConditions = z.output<typeof conditionsSchema>;
export type RawRule = z.output<typeof ruleSchema>;
export type RawPolicy = z.output<typeof policySchema>;
export type RuleKind = 'allow' | 'deny' | 'alert';
export type { SqlClass };

/** A config problem with its path below `policies`. */
export interface PolicyIssue {
  readonly path: (string | number)[];
  readonly message: string;
}

const KEYS_BY_PARENT: Record<string, readonly string[]> = {
  policy: ['default', 'rules'],
  rule: ['id', 'description', 'allow', 'deny', 'alert'],
  conditions: [...CONNECTION_KEYS, ...REQUEST_KEYS],
  process: ['exe', 'uid'],
  sql: ['classes', 'operations', 'tables'],
  redis: ['commands', 'categories'],
  http: ['methods', 'paths'],
};

/** Turn zod issues into path + "expected …, got …" messages (one issue per unknown key). */
export function toPolicyIssues(issues: readonly z.core.$ZodIssue[]): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const issue of issues) {
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    switch (issue.code) {
      case 'unrecognized_keys':
        for (const key of issue.keys) {
          out.push({ path: [...path, key], message: unknownKeyMessage(key, keysAt(path)) });
        }
        break;
      case 'invalid_type':
        out.push({
          path,
          message:
            issue.input === undefined
              ? `expected ${typeName(issue.expected)}, got nothing (required)`
              : `expected ${typeName(issue.expected)}, got ${describe(issue.input)}`,
        });
        break;
      case 'invalid_value':
        out.push({
          path,
          message: `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${describe(issue.input)}`,
        });
        break;
      case 'too_small':
        out.push({
          path,
          message:
            issue.origin === 'array'
              ? 'expected at least one entry, got an empty list'
              : issue.origin === 'string'
                ? 'expected a non-empty string, got ""'
                : `expected a number >= ${String(issue.minimum)}, got ${describe(issue.input)}`,
        });
        break;
      default:
        out.push({ path, message: issue.message });
    }
  }
  return out;
}

function keysAt(path: readonly (string | number)[]): readonly string[] {
  const last = path[path.length - 1];
  const beforeLast = path[path.length - 2];
  if (path.length === 1) return KEYS_BY_PARENT.policy ?? [];
  if (typeof last === 'number' && beforeLast === 'rules') return KEYS_BY_PARENT.rule ?? [];
  if (last === 'allow' || last === 'deny' || last === 'alert')
    return KEYS_BY_PARENT.conditions ?? [];
  return typeof last === 'string' ? (KEYS_BY_PARENT[last] ?? []) : [];
}

function unknownKeyMessage(key: string, known: readonly string[]): string {
  return known.length === 0
    ? `unknown key "${key}"`
    : `unknown key "${key}"; expected one of ${known.join(', ')}`;
}

function typeName(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object') return 'a map';
  if (expected === 'int') return 'an integer';
  return `a ${expected}`;
}

/** A short description of a found value for "got …". */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean')
    return `${typeof value} ${String(value)}`;
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Date) return `date ${value.toISOString()}`;
  if (typeof value === 'object') return 'a map';
  return typeof value;
}
