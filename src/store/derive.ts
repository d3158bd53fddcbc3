/**
 * The indexed columns derived from a record (rule, policy version, operation, status, …),
 * computed in JavaScript from the record object the writer already holds: for the rows
 * commit listeners read (detectors, the live tail, shipping), the PostgreSQL store and the
 * central collector. The embedded store reads the same values from the body with the
 * `json_extract` expressions of sqlite-log-rows.ts (test/unit/audit/recorder-record and
 * test/unit/store/log-rows compare them).
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

// Fixed-arity accessors: rest parameters allocated an array per call, seventeen per record.

/** `v` as an object whose members can be read (not null, not an array), else undefined. */
function obj(v: unknown): Obj | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : undefined;
}

function at2(record: Obj, a: string, b: string): unknown {
  return obj(record[a])?.[b];
}

function at3(record: Obj, a: string, b: string, c: string): unknown {
  const o = obj(record[a]);
  return o === undefined ? undefined : obj(o[b])?.[c];
}

function at4(record: Obj, a: string, b: string, c: string, d: string): unknown {
  const o = obj(record[a]);
  const p = o === undefined ? undefined : obj(o[b]);
  return p === undefined ? undefined : obj(p[c])?.[d];
}

/** SQLite TEXT affinity: numbers become their text, strings stay, anything else is NULL. */
function text(v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  if (typeof v === 'boolean') return v ? '1' : '0';
  return null;
}

/** The first of the three that is neither undefined nor null (COALESCE). */
function first(a: unknown, b: unknown, c: unknown): unknown {
  if (a !== undefined && a !== null) return a;
  if (b !== undefined && b !== null) return b;
  if (c !== undefined && c !== null) return c;
  return undefined;
}

export function deriveColumns(record: Obj): DerivedColumns {
  const d = {} as DerivedColumns;
  deriveColumnsInto(d, record);
  return d;
}

/**
 * The derived columns of `record`, assigned onto `row` in a fixed order (the Recorder's
 * rows take them in their constructor, without an object of their own in between).
 */
export function deriveColumnsInto(row: DerivedColumns, record: Obj): void {
  const to = row as { -readonly [K in keyof DerivedColumns]: DerivedColumns[K] };
  const db = obj(record.db);
  const op = text(
    first(db?.operation, at2(record, 'redis', 'command'), at3(record, 'http', 'request', 'method')),
  );
  to.upstreamCommunityId = text(at2(record, 'upstream', 'community_id'));
  to.rule = text(at2(record, 'rule', 'id'));
  to.policyVersion = text(at2(record, 'policy', 'version'));
  to.dbNamespace = text(db?.namespace);
  to.operation = op === null ? null : op.toUpperCase();
  to.statementClass = text(db === undefined ? undefined : obj(db.query)?.class);
  to.status = text(
    first(
      db === undefined ? undefined : obj(db.response)?.status_code,
      at3(record, 'http', 'response', 'status_code'),
      at4(record, 'redis', 'reply', 'error', 'code'),
    ),
  );
  to.node = text(at2(record, 'observer', 'id'));
}
