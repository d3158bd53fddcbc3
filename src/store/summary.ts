/**
 * `search --summary`: what a window holds at a glance — top talkers, refused / denied
 * counts and the sources never seen before the window. Built from the Store's own
 * counting and grouping, so every backend gets it.
 */
import type { EventFilter } from './filter.js';
import type { Store } from './types.js';

export interface Counted {
  readonly key: string;
  readonly count: number;
}

export interface Summary {
  readonly total: number;
  /** Source IPs by number of records. */
  readonly topSources: readonly Counted[];
  readonly topUsers: readonly Counted[];
  readonly topListeners: readonly Counted[];
  /** Records the gateway refused or denied (connection-open, db-query, redis-command, http-request with outcome failure). */
  readonly denied: {
    readonly total: number;
    readonly byAction: readonly Counted[];
    readonly bySource: readonly Counted[];
    readonly byRule: readonly Counted[];
  };
  /** Sources whose first record ever is inside the window. */
  readonly newSources: readonly {
    readonly ip: string;
    readonly firstSequence: number;
    readonly count: number;
  }[];
}

/** The actions whose failure outcome means the gateway said no. */
export const DECISION_ACTIONS = ['connection-open', 'db-query', 'redis-command', 'http-request'];

export function summarize(store: Store, filter: EventFilter, top = 10): Summary {
  const f: EventFilter = { ...filter, after: undefined, limit: undefined };
  const bySource = store.groupBy(f, 'source');
  const denied: EventFilter = {
    ...f,
    outcome: 'failure',
    actions:
      f.actions === undefined
        ? DECISION_ACTIONS
        : f.actions.filter((a) => DECISION_ACTIONS.includes(a)),
  };
  const deniedNone = denied.actions?.length === 0;
  const windowStart =
    f.sinceNs === undefined
      ? 0
      : (store.search({ sinceNs: f.sinceNs, order: 'oldest', limit: 1 }).rows[0]?.sequence ??
        Number.MAX_SAFE_INTEGER);
  const newSources: { ip: string; firstSequence: number; count: number }[] = [];
  for (const s of bySource) {
    if (s.key === '-') continue;
    const first = store.firstSequenceOfSource(s.key);
    if (first !== null && first >= windowStart)
      newSources.push({ ip: s.key, firstSequence: first, count: s.count });
  }
  newSources.sort((a, b) => a.firstSequence - b.firstSequence);
  return {
    total: store.count(f),
    topSources: bySource.slice(0, top),
    topUsers: store.groupBy(f, 'user').slice(0, top),
    topListeners: store.groupBy(f, 'listener').slice(0, top),
    denied: {
      total: deniedNone ? 0 : store.count(denied),
      byAction: deniedNone ? [] : store.groupBy(denied, 'action'),
      bySource: deniedNone ? [] : store.groupBy(denied, 'source').slice(0, top),
      byRule: deniedNone ? [] : store.groupBy(denied, 'rule').slice(0, top),
    },
    newSources,
  };
}
