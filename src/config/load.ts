/**
 * Loading: YAML with positions, validated by zod, refused with file, line, key path and
 * what was expected (`portwarden.yaml:14:13: listeners[2].target: expected host:port,
 * got "db"`) before anything listens.
 */
import { readFileSync } from 'node:fs';
import { resolve, dirname, isAbsolute } from 'node:path';
import { LineCounter, parseDocument, isNode } from 'yaml';
import type { z } from 'zod';
import { PortwardenError, errorMessage } from '../errors.js';
import { compilePolicies } from '../policy/index.js';
import { configSchema, type Config } from './schema.js';

/** One problem in a config file. */
export interface ConfigIssue {
  readonly path: readonly (string | number)[];
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
}

export interface LoadedConfig {
  readonly file: string;
  readonly config: Config;
  /** The file's text, for policy versioning and reload diffs. */
  readonly text: string;
}

/** Render a key path as `listeners[2].target`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out || '(root)';
}

export function formatIssues(file: string, issues: readonly ConfigIssue[]): string {
  return issues
    .map((i) => {
      const where = i.line !== undefined ? `${file}:${i.line}:${i.column ?? 1}` : file;
      return `${where}: ${formatPath(i.path)}: ${i.message}`;
    })
    .join('\n');
}

/** Validate YAML text; returns the config or the list of issues with positions. */
export function parseConfigText(
  text: string,
  extraChecks: (config: Config) => ConfigIssue[] = () => [],
): { ok: true; config: Config } | { ok: false; issues: ConfigIssue[] } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => {
        const pos = lineCounter.linePos(e.pos[0]);
        return {
          path: [],
          message: e.message.split('\n')[0] ?? e.message,
          line: pos.line,
          column: pos.col,
        };
      }),
    };
  }
  const raw: unknown = doc.toJS() ?? {};
  const positionOf = (path: readonly PropertyKey[]): { line?: number; column?: number } => {
    // Walk up the path until a node with a source range is found.
    for (let n = path.length; n >= 0; n--) {
      const node: unknown = doc.getIn(path.slice(0, n) as unknown[], true);
      if (isNode(node) && node.range) {
        const pos = lineCounter.linePos(node.range[0]);
        return { line: pos.line, column: pos.col };
      }
    }
    return {};
  };
  const result = configSchema.safeParse(raw);
  if (!result.success) {
    return {
      ok: false,
      issues: result.error.issues.map((issue) => ({
        path: issue.path.map((p) => (typeof p === 'symbol' ? String(p) : p)),
        message: describeIssue(issue, raw),
        ...positionOf(issue.path),
      })),
    };
  }
  const config = result.data;
  const issues = [...crossChecks(config), ...policyIssues(config), ...extraChecks(config)].map(
    (i) => ({
      ...i,
      ...positionOf(i.path),
    }),
  );
  return issues.length > 0 ? { ok: false, issues } : { ok: true, config };
}

/** Read, validate and resolve a config file; throws PW_ERR_CONFIG listing every issue. */
export function loadConfig(
  file: string,
  extraChecks?: (config: Config) => ConfigIssue[],
): LoadedConfig {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new PortwardenError(
      'PW_ERR_CONFIG_READ',
      { file, detail: errorMessage(err) },
      { cause: err },
    );
  }
  const parsed = parseConfigText(text, extraChecks);
  if (!parsed.ok)
    throw new PortwardenError('PW_ERR_CONFIG', { detail: formatIssues(file, parsed.issues) });
  const config = parsed.config;
  // Relative paths in the file are relative to the file, not to the working directory.
  const base = dirname(path);
  const rel = (p: string): string => (isAbsolute(p) ? p : resolve(base, p));
  return {
    file: path,
    text,
    config: {
      ...config,
      data_dir: rel(config.data_dir),
      listeners: config.listeners.map((l) =>
        l.tls
          ? {
              ...l,
              tls: {
                ...l.tls,
                cert: rel(l.tls.cert),
                key: rel(l.tls.key),
                ...(l.tls.ca ? { ca: rel(l.tls.ca) } : {}),
              },
            }
          : l,
      ),
    },
  };
}

/** The rule language is the policy module's: it reports paths relative to `policies`. */
function policyIssues(config: Config): ConfigIssue[] {
  const result = compilePolicies(config.policies);
  return result.ok
    ? []
    : result.issues.map((i) => ({ path: ['policies', ...i.path], message: i.message }));
}

function crossChecks(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const names = new Map<string, number>();
  const listens = new Map<string, number>();
  config.listeners.forEach((l, i) => {
    const prev = names.get(l.name);
    if (prev !== undefined)
      issues.push({
        path: ['listeners', i, 'name'],
        message: `duplicate listener name "${l.name}" (also listeners[${prev}])`,
      });
    names.set(l.name, i);
    if (l.listen.port !== 0) {
      const key = `${l.listen.host}:${l.listen.port}`;
      const prevListen = listens.get(key);
      if (prevListen !== undefined)
        issues.push({
          path: ['listeners', i, 'listen'],
          message: `address ${key} already used by listeners[${prevListen}]`,
        });
      listens.set(key, i);
    }
    if (l.policy !== undefined && !(l.policy in config.policies)) {
      issues.push({
        path: ['listeners', i, 'policy'],
        message: `no policy named "${l.policy}" under policies`,
      });
    }
    if (l.forwarded && l.protocol !== 'http') {
      issues.push({
        path: ['listeners', i, 'forwarded'],
        message: `forwarded headers need protocol: http, got ${l.protocol}`,
      });
    }
  });
  return issues;
}

function describeIssue(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys')
    return `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  if (issue.code === 'invalid_type') {
    const got = valueAt(raw, issue.path);
    return `expected ${issue.expected}, got ${got === undefined ? 'nothing' : JSON.stringify(got)}`;
  }
  if (issue.code === 'invalid_value') {
    const got = valueAt(raw, issue.path);
    return `expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(got)}`;
  }
  return issue.message;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = raw;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[p];
  }
  return cur;
}
