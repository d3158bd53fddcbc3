/**
 * The periodic audit report's data (`report.json`): who accessed which listener, denied
 * attempts, anomalies, drift findings, policy changes and integrity status over a period,
 * computed from the store in one pass over the period's records.
 */
import { formatTimestampNs } from '../../audit/clock.js';
import type { JsonObject, JsonValue } from '../../audit/event.js';
import type { EventRow, Store } from '../../store/index.js';

export interface IntegrityStatus {
  readonly status: 'ok' | 'tampered' | 'not-checked';
  readonly detail: string;
  readonly records?: number;
  readonly checkpoints?: number;
}

export interface AccessRow {
  /** The user, or the source IP when no user was known. */
  readonly who: string;
  readonly counts: Readonly<Record<string, number>>;
  readonly total: number;
}

export interface DeniedRow {
  readonly kind: 'denied' | 'failed-login';
  readonly listener: string;
  readonly source: string;
  readonly user: string;
  readonly count: number;
}

export interface AnomalyRow {
  readonly time: string;
  readonly id: string;
  readonly detector: string;
  readonly severity: string;
  readonly reason: string;
  readonly source: string | null;
  readonly listener: string | null;
}

export interface FindingRow {
  readonly time: string;
  readonly kind: string;
  readonly severity: string;
  readonly port: number | null;
  readonly listener: string | null;
  readonly detail: string;
}

export interface PolicyChangeRow {
  readonly time: string;
  readonly outcome: string;
  readonly trigger: string;
  readonly message: string;
}

export interface DayRow {
  readonly day: string;
  readonly connections: number;
  readonly denied: number;
  readonly anomalies: number;
}

export interface ReportData {
  readonly generated_at: string;
  readonly node: string | null;
  readonly since: string;
  readonly until: string;
  readonly totals: {
    readonly records: number;
    readonly connections: number;
    readonly denied: number;
    readonly failed_logins: number;
    readonly anomalies: number;
    readonly findings: number;
    readonly policy_changes: number;
  };
  readonly access: { readonly listeners: readonly string[]; readonly rows: readonly AccessRow[] };
  readonly denied: readonly DeniedRow[];
  readonly anomalies: readonly AnomalyRow[];
  readonly anomalies_by_detector: Readonly<Record<string, number>>;
  /** The drift findings of the newest audit run in the period. */
  readonly findings: readonly FindingRow[];
  readonly policy_changes: readonly PolicyChangeRow[];
  readonly daily: readonly DayRow[];
  readonly integrity: IntegrityStatus;
}

export interface ReportOptions {
  readonly sinceNs: bigint;
  readonly untilNs: bigint;
  readonly integrity: IntegrityStatus;
  readonly node?: string | null;
  readonly nowMs?: number;
}

/** Rows kept in the long tables (the totals count everything). */
const MAX_TABLE_ROWS = 500;
const DENIALS: ReadonlySet<string> = new Set([
  'connection-open',
  'db-query',
  'redis-command',
  'http-request',
]);

export function buildReport(store: Store, opts: ReportOptions): ReportData {
  const first = store.search({
    sinceNs: opts.sinceNs,
    untilNs: opts.untilNs,
    order: 'oldest',
    limit: 1,
  }).rows[0];
  const access = new Map<string, Map<string, number>>();
  const listeners = new Set<string>();
  const denied = new Map<string, DeniedRow>();
  const anomalies: AnomalyRow[] = [];
  const byDetector: Record<string, number> = {};
  const findingsByRun = new Map<string, FindingRow[]>();
  let latestRun: string | null = null;
  const policy: PolicyChangeRow[] = [];
  const daily = new Map<string, { connections: number; denied: number; anomalies: number }>();
  const totals = {
    records: 0,
    connections: 0,
    denied: 0,
    failed_logins: 0,
    anomalies: 0,
    findings: 0,
    policy_changes: 0,
  };
  let node = opts.node ?? null;

  const day = (row: EventRow): { connections: number; denied: number; anomalies: number } => {
    const key = formatTimestampNs(row.timestampNs).slice(0, 10);
    let d = daily.get(key);
    if (d === undefined) {
      d = { connections: 0, denied: 0, anomalies: 0 };
      daily.set(key, d);
    }
    return d;
  };

  if (first !== undefined) {
    const end = store.nextSequence();
    for (let from = first.sequence; from < end; from += 5000) {
      for (const row of store.iterate(from, Math.min(end, from + 5000))) {
        if (row.timestampNs < opts.sinceNs) continue;
        if (row.timestampNs >= opts.untilNs) {
          from = end;
          break;
        }
        totals.records++;
        if (node === null && row.body !== null) node = str(parse(row.body), 'observer.id');
        const action = row.action;
        if (action === 'connection-open' && row.outcome !== 'failure') {
          totals.connections++;
          day(row).connections++;
        } else if (action === 'connection-close' && row.listener !== null) {
          const who = row.user ?? row.sourceIp ?? '-';
          listeners.add(row.listener);
          const perListener = access.get(who) ?? new Map<string, number>();
          perListener.set(row.listener, (perListener.get(row.listener) ?? 0) + 1);
          access.set(who, perListener);
        }
        const failedLogin = action === 'db-login' && row.outcome === 'failure';
        if (failedLogin || (DENIALS.has(action) && row.outcome === 'failure')) {
          if (failedLogin) totals.failed_logins++;
          else totals.denied++;
          day(row).denied++;
          const kind = failedLogin ? 'failed-login' : 'denied';
          const key = `${kind}|${row.listener ?? '-'}|${row.sourceIp ?? '-'}|${row.user ?? '-'}`;
          const prev = denied.get(key);
          denied.set(key, {
            kind,
            listener: row.listener ?? '-',
            source: row.sourceIp ?? '-',
            user: row.user ?? '-',
            count: (prev?.count ?? 0) + 1,
          });
        } else if (action.startsWith('anomaly-')) {
          totals.anomalies++;
          day(row).anomalies++;
          const body = parse(row.body);
          const detector = str(body, 'alert.detector') ?? action.slice('anomaly-'.length);
          byDetector[detector] = (byDetector[detector] ?? 0) + 1;
          anomalies.push({
            time: formatTimestampNs(row.timestampNs),
            id: row.id,
            detector,
            severity: str(body, 'alert.severity') ?? '-',
            reason: str(body, 'event.reason') ?? '',
            source: row.sourceIp,
            listener: row.listener,
          });
          if (anomalies.length > MAX_TABLE_ROWS) anomalies.shift();
        } else if (action === 'audit-finding') {
          totals.findings++;
          const body = parse(row.body);
          const run = str(body, 'finding.run') ?? row.id;
          latestRun = run;
          const list = findingsByRun.get(run) ?? [];
          const port = get(body, 'finding.port');
          list.push({
            time: formatTimestampNs(row.timestampNs),
            kind: str(body, 'finding.kind') ?? '-',
            severity: str(body, 'finding.severity') ?? '-',
            port: typeof port === 'number' ? port : null,
            listener: row.listener,
            detail: str(body, 'event.reason') ?? '',
          });
          findingsByRun.set(run, list);
        } else if (action === 'policy-reload') {
          totals.policy_changes++;
          const body = parse(row.body);
          policy.push({
            time: formatTimestampNs(row.timestampNs),
            outcome: row.outcome ?? '-',
            trigger: str(body, 'event.reason') ?? '-',
            message: str(body, 'message') ?? '',
          });
          if (policy.length > MAX_TABLE_ROWS) policy.shift();
        }
      }
    }
  }

  const listenerList = [...listeners].sort();
  const rows: AccessRow[] = [...access.entries()]
    .map(([who, counts]) => {
      const record: Record<string, number> = {};
      let total = 0;
      for (const l of listenerList) {
        const n = counts.get(l) ?? 0;
        if (n > 0) record[l] = n;
        total += n;
      }
      return { who, counts: record, total };
    })
    .sort((a, b) => b.total - a.total || a.who.localeCompare(b.who));
  return {
    generated_at: new Date(opts.nowMs ?? Date.now()).toISOString(),
    node,
    since: formatTimestampNs(opts.sinceNs),
    until: formatTimestampNs(opts.untilNs),
    totals,
    access: { listeners: listenerList, rows: rows.slice(0, MAX_TABLE_ROWS) },
    denied: [...denied.values()].sort((a, b) => b.count - a.count).slice(0, MAX_TABLE_ROWS),
    anomalies: anomalies.reverse(),
    anomalies_by_detector: byDetector,
    findings: latestRun === null ? [] : (findingsByRun.get(latestRun) ?? []),
    policy_changes: policy.reverse(),
    daily: dailyRows(daily, opts.sinceNs, opts.untilNs),
    integrity: opts.integrity,
  };
}

/** Every day of the period (quiet days as zeros) when it spans at most 62 days. */
function dailyRows(
  daily: ReadonlyMap<string, { connections: number; denied: number; anomalies: number }>,
  sinceNs: bigint,
  untilNs: bigint,
): DayRow[] {
  const days = new Set(daily.keys());
  const startMs = Number(sinceNs / 1_000_000n);
  const endMs = Number((untilNs - 1n) / 1_000_000n);
  if (endMs - startMs <= 62 * 86_400_000) {
    for (let ms = Date.UTC(...utcDay(startMs)); ms <= endMs; ms += 86_400_000)
      days.add(new Date(ms).toISOString().slice(0, 10));
  }
  return [...days]
    .sort()
    .map((day) => ({ day, ...(daily.get(day) ?? { connections: 0, denied: 0, anomalies: 0 }) }));
}

function utcDay(ms: number): [number, number, number] {
  const d = new Date(ms);
  return [d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()];
}

function parse(body: string | null): JsonObject | null {
  if (body === null) return null;
  try {
    const v: unknown = JSON.parse(body);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as JsonObject) : null;
  } catch {
    return null;
  }
}

function get(record: JsonObject | null, path: string): JsonValue | undefined {
  let cur: JsonValue | undefined = record ?? undefined;
  for (const key of path.split('.')) {
    if (cur === null || cur === undefined || typeof cur !== 'object' || Array.isArray(cur))
      return undefined;
    cur = cur[key];
  }
  return cur;
}

function str(record: JsonObject | null, path: string): string | null {
  const v = get(record, path);
  return typeof v === 'string' ? v : null;
}
