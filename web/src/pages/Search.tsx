/**
 * Search: every filter of the shared model, kept in the URL (share the link, get the same
 * search), keyset "more", a virtualized table, a live toggle, the "aggregate repeats"
 * toggle (repeated statements folded into counted rows) and the detail drawer.
 */
import { type FormEvent, useEffect, useState } from 'react';
import { type AggregatePage, type AggregateRow, windowText } from '../aggregate';
import { type ApiEvent, getJson, refOf } from '../api';
import { AggregateTable } from '../components/AggregateTable';
import { DetailDrawer } from '../components/DetailDrawer';
import { EventTable } from '../components/EventTable';
import { useLive, useSession } from '../hooks';
import { navigate } from '../router';

const FIELDS: readonly (readonly [string, string])[] = [
  ['listener', 'listener'],
  ['action', 'actions (a,b)'],
  ['source', 'source IP[:port]'],
  ['source_port', 'source port'],
  ['upstream_local', 'upstream local IP:port'],
  ['port', 'any port'],
  ['user', 'user'],
  ['outcome', 'outcome'],
  ['since', 'since (15m, RFC 3339)'],
  ['until', 'until'],
  ['text', 'text'],
  ['connection', 'connection id'],
  ['community_id', 'community id'],
  ['rule', 'rule'],
  ['db', 'database'],
  ['operation', 'operation'],
  ['class', 'statement class'],
  ['status', 'status'],
];
const UI_ONLY = ['sel', 'live', 'agg'];
/** Folding settings: sent only with aggregate=statement. */
const AGG_FIELDS: readonly (readonly [string, string])[] = [
  ['window', 'fold window (1m, 1s-1d)'],
  ['min_repeat', 'fold from repeats'],
];

export function Search(props: { readonly params: URLSearchParams }) {
  const filters = new URLSearchParams(props.params);
  for (const k of UI_ONLY) filters.delete(k);
  const aggregate = props.params.get('agg') === '1';
  if (!aggregate) for (const [k] of AGG_FIELDS) filters.delete(k);
  const query = filters.toString();
  const [events, setEvents] = useState<ApiEvent[]>([]);
  const [rows, setRows] = useState<AggregateRow[]>([]);
  const [folding, setFolding] = useState<{ window: number; min: number } | null>(null);
  const [next, setNext] = useState<number | string | null>(null);
  const session = useSession();
  const nodes = session?.central ? (session.nodes ?? []) : null;
  const [error, setError] = useState<string | null>(null);
  const [form, setForm] = useState<Record<string, string>>(() => Object.fromEntries(filters));
  const selected = props.params.get('sel');
  const live = props.params.get('live') === '1' && !aggregate;

  useEffect(() => {
    setForm(Object.fromEntries(new URLSearchParams(query)));
    if (!aggregate) return;
    let current = true;
    const p = new URLSearchParams(query);
    p.set('aggregate', 'statement');
    getJson<AggregatePage>('events', p).then(
      (page) => {
        if (!current) return;
        setRows(page.rows);
        setFolding({ window: page.window_ms, min: page.min_repeat });
        setNext(page.next);
        setError(null);
      },
      (err: unknown) => {
        if (!current) return;
        setRows([]);
        setNext(null);
        setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      current = false;
    };
  }, [query, aggregate]);

  useEffect(() => {
    if (aggregate) return;
    let current = true;
    getJson<{ events: ApiEvent[]; next: number | string | null }>(
      'events',
      new URLSearchParams(query),
    ).then(
      (page) => {
        if (!current) return;
        setEvents(page.events);
        setNext(page.next);
        setError(null);
      },
      (err: unknown) => {
        if (!current) return;
        setEvents([]);
        setError(err instanceof Error ? err.message : String(err));
      },
    );
    return () => {
      current = false;
    };
  }, [query, aggregate]);

  const liveFilter = new URLSearchParams(query);
  liveFilter.delete('limit');
  liveFilter.delete('after');
  liveFilter.delete('order');
  const connected = useLive(liveFilter, (e) => setEvents((list) => [e, ...list]), live);

  const set = (changes: Record<string, string | null>): void => {
    const p = new URLSearchParams(props.params);
    for (const [k, v] of Object.entries(changes)) {
      if (v === null || v === '') p.delete(k);
      else p.set(k, v);
    }
    navigate('search', p);
  };
  const submit = (ev: FormEvent): void => {
    ev.preventDefault();
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(form)) if (v.trim() !== '') p.set(k, v.trim());
    if (live) p.set('live', '1');
    if (aggregate) p.set('agg', '1');
    navigate('search', p);
  };
  const more = (): void => {
    if (next === null) return;
    const p = new URLSearchParams(query);
    p.set('after', String(next));
    if (aggregate) {
      p.set('aggregate', 'statement');
      void getJson<AggregatePage>('events', p).then((page) => {
        setRows((list) => [...list, ...page.rows]);
        setNext(page.next);
      });
      return;
    }
    void getJson<{ events: ApiEvent[]; next: number | string | null }>('events', p).then((page) => {
      setEvents((list) => [...list, ...page.events]);
      setNext(page.next);
    });
  };

  return (
    <div className="page">
      <h1>Search</h1>
      <form className="filters" onSubmit={submit} data-testid="filters">
        {nodes !== null && (
          <label>
            <span>node</span>
            <select
              data-testid="node-select"
              value={props.params.get('node') ?? ''}
              onChange={(ev) => set({ node: ev.target.value, sel: null })}
            >
              <option value="">every node</option>
              {nodes.map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
          </label>
        )}
        {(aggregate ? [...FIELDS, ...AGG_FIELDS] : FIELDS).map(([name, label]) => (
          <label key={name}>
            <span>{label}</span>
            <input
              name={name}
              value={form[name] ?? ''}
              onChange={(ev) => setForm({ ...form, [name]: ev.target.value })}
            />
          </label>
        ))}
        <div className="actions">
          <button type="submit">Search</button>
          <button
            type="button"
            onClick={() =>
              navigate('search', {
                ...(live ? { live: '1' } : {}),
                ...(aggregate ? { agg: '1' } : {}),
              })
            }
          >
            Clear
          </button>
          <label className="toggle">
            <input
              type="checkbox"
              data-testid="live-toggle"
              checked={live}
              disabled={aggregate}
              title={aggregate ? 'folded rows do not follow the live tail' : undefined}
              onChange={(ev) => set({ live: ev.target.checked ? '1' : null })}
            />
            live{' '}
            {live && (
              <span className={`pill ${connected ? 'on' : ''}`}>
                {connected ? 'following' : 'connecting'}
              </span>
            )}
          </label>
          <label className="toggle">
            <input
              type="checkbox"
              data-testid="aggregate-toggle"
              checked={aggregate}
              disabled={nodes !== null}
              title={nodes !== null ? 'the central API does not fold repeats' : undefined}
              onChange={(ev) => set({ agg: ev.target.checked ? '1' : null, sel: null })}
            />
            aggregate repeats
          </label>
        </div>
      </form>
      {error && (
        <p className="error" data-testid="search-error">
          {error}
        </p>
      )}
      {aggregate ? (
        <>
          <p className="muted" data-testid="result-count">
            {rows.length} rows
            {folding !== null &&
              `: repeats of one statement folded within ${windowText(folding.window)} windows, from ${folding.min} on (exact counts; click a row for its records)`}
            {next !== null ? ' (more available)' : ''}
          </p>
          <AggregateTable
            rows={rows}
            filters={new URLSearchParams(query)}
            onSelect={(e) => set({ sel: String(e.sequence) })}
          />
        </>
      ) : (
        <>
          <p className="muted" data-testid="result-count">
            {events.length} records{next !== null ? ' (more available)' : ''}
          </p>
          <EventTable events={events} onSelect={(e) => set({ sel: refOf(e) })} />
        </>
      )}
      {next !== null && (
        <button onClick={more} data-testid="more">
          more
        </button>
      )}
      {selected !== null && <DetailDrawer sequence={selected} onClose={() => set({ sel: null })} />}
    </div>
  );
}
