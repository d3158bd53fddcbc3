/** Builders for policy tests: facts, actions and a compile that must succeed. */
import { parse } from 'yaml';
import {
  compilePolicies,
  type ActionFacts,
  type CompiledPolicy,
  type ConnectionFacts,
  type SqlClass,
} from '../../src/policy/index.js';

/** Connection facts with a default listener, source and port; override what the test needs. */
export function conn(overrides: Partial<ConnectionFacts> = {}): ConnectionFacts {
  return { listener: 'orders-db', sourceIp: '10.1.2.3', sourcePort: 51234, ...overrides };
}

export function sql(
  sqlClass: SqlClass,
  operation: string,
  tables: readonly string[] = [],
  protocol: 'postgres' | 'mysql' = 'postgres',
): ActionFacts {
  return { protocol, sqlClass, operation, tables, text: `${operation} …` };
}

export function redis(command: string, categories: readonly string[]): ActionFacts {
  return { protocol: 'redis', command, categories };
}

export function http(method: string, path: string): ActionFacts {
  return { protocol: 'http', method, path };
}

/** Compile a YAML `policies:` map and return the named policy, failing loudly otherwise. */
export function policyFromYaml(yaml: string, name?: string): CompiledPolicy {
  const result = compilePolicies(parse(yaml));
  if (!result.ok) throw new Error(`policy did not compile: ${JSON.stringify(result.issues)}`);
  const policy = name === undefined ? [...result.policies.values()][0] : result.policies.get(name);
  if (policy === undefined) throw new Error(`no policy ${name ?? '(first)'}`);
  return policy;
}

/** Compile one policy named `p` from its rules (a YAML list) and default. */
export function policyOf(
  rulesYaml: string,
  defaultVerdict: 'allow' | 'deny' = 'deny',
): CompiledPolicy {
  const indented = rulesYaml
    .trim()
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
  return policyFromYaml(`p:\n  default: ${defaultVerdict}\n  rules:\n${indented}\n`, 'p');
}

/** Compile and return the issues, failing when the policy compiled. */
export function issuesOf(raw: unknown): { path: (string | number)[]; message: string }[] {
  const result = compilePolicies(raw);
  if (result.ok) throw new Error('expected compile issues, got none');
  return result.issues;
}

export const AT = new Date('2026-11-23T10:00:00Z'); // a Monday, 11:00 in Berlin
