/**
 * The indexed columns derived from a record (rule, policy version, operation, status, …),
 * computed in JavaScript from the record object the writer already holds. The same values
 * as the `json_extract` expressions of DERIVED_COLUMNS (used by the v1→v2 migration), but
 * without re-parsing the body: twelve `json_extract` calls per insert were the largest cost
 * of a commit (bench/integrity.ts).
 */
export interface DerivedColumns {
  readonly upstreamCommunityId: string | null;
  readonly rule: string | null;
  readonly policyVersion: string | null;
  readonly dbNamespace: string | null;
  readonly operation: string | null;
  readonly statementClass: string | null;
  readonly status: string | null;
  readonly node: string | null;
}

type Obj = Readonly<Record<string, unknown>>;

function at(record: Obj, ...path: string[]): unknown {
  let cur: unknown = record;
  for (const p of path) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    cur = (cur as Obj)[p];
  }
  return cur;
}

/** SQLite TEXT affinity: numbers become their text, strings stay, anything else is NULL. */
function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  return null;
}

function first(...values: unknown[]): unknown {
  for (const v of values) if (v !== undefined && v !== null) return v;
  return undefined;
}

export function deriveColumns(record: Obj): DerivedColumns {
  const op = text(
    first(
      at(record, 'db', 'operation'),
      at(record, 'redis', 'command'),
      at(record, 'http', 'request', 'method'),
    ),
  );
  return {
    upstreamCommunityId: text(at(record, 'upstream', 'community_id')),
    rule: text(at(record, 'rule', 'id')),
    policyVersion: text(at(record, 'policy', 'version')),
    dbNamespace: text(at(record, 'db', 'namespace')),
    operation: op === null ? null : op.toUpperCase(),
    statementClass: text(at(record, 'db', 'query', 'class')),
    status: text(
      first(
        at(record, 'db', 'response', 'status_code'),
        at(record, 'http', 'response', 'status_code'),
        at(record, 'redis', 'reply', 'error', 'code'),
      ),
    ),
    node: text(at(record, 'observer', 'id')),
  };
}
