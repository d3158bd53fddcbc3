/**
 * The `policies:` map of the config file (DESIGN §7) as a zod v4 schema. Structure is
 * checked by zod; every value that compiles to a matcher (CIDR, glob, time window, zone,
 * date) is checked here too, so a policy that passes the schema always compiles.
 */
import { z } from 'zod';
import { parseCidr } from './ip.js';
import { compileGlob } from './glob.js';
import { describe, unknownKeyMessage } from './messages.js';
import { timeCondition } from './time-schema.js';
import type { SqlClass } from './action.js';

/** Glob dialects: exe paths and HTTP paths split on `/`, table names on `.`. */
export const EXE_GLOB = { stops: '/' } as const;
/** HTTP paths: `*` stops at `/`, nothing matches into the query string, which is ignored. */
export const HTTP_PATH_GLOB = { stops: '/?#', tail: '(?:[?#][\\s\\S]*)?' } as const;
/** SQL tables: case-insensitive, `*` stays inside one dotted part. */
export const TABLE_GLOB = { stops: '.', caseInsensitive: true } as const;
/** Redis keys, as Redis' own ACL key patterns: case-sensitive, `*` matches any run (`:` too). */
export const KEY_GLOB = { stops: '' } as const;

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
    keys: list(glob('a key or glob like session:* or cache:[0-9]*', KEY_GLOB)).optional(),
  })
  .refine((r) => r.commands ?? r.categories ?? r.keys, {
    message: 'expected commands, categories and/or keys, got none',
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
export type { RawTime } from './time-schema.js';
export { describe } from './messages.js';

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
  redis: ['commands', 'categories', 'keys'],
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

function typeName(expected: string): string {
  if (expected === 'array') return 'a list';
  if (expected === 'object') return 'a map';
  if (expected === 'int') return 'an integer';
  return `a ${expected}`;
}
