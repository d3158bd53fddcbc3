/**
 * Folded rows: a repeated statement shows once with its count (×1,234), time range and
 * outcomes, and expands to the records it stands for (keyset-paged). Records that did not
 * repeat show as ordinary rows. Every value is rendered as text.
 */
import { useCallback, useEffect, useState } from 'react';
import { type GroupRow, type AggregateRow, outcomesText, times } from '../aggregate';
import { type ApiEvent, getJson, isDenied } from '../api';
import { EventCells, EventHead, EventTable } from './EventTable';

const MEMBERS_PAGE = 100;

function GroupMembers(props: {
  readonly row: GroupRow;
  readonly filters: URLSearchParams;
  readonly onSelect: (e: ApiEvent) => void;
}) {
  const [events, setEvents] = useState<ApiEvent[] | null>(null);
  const [next, setNext] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const filters = props.filters.toString();
  const group = props.row.group;
  const load = useCallback(
    (after: number | null): void => {
      const p = new URLSearchParams(filters);
      // The group names its window; the folding settings do not apply to its records.
      for (const k of ['after', 'window', 'min_repeat']) p.delete(k);
      p.set('limit', String(MEMBERS_PAGE));
      p.set('group', group);
      if (after !== null) p.set('after', String(after));
      getJson<{ events: ApiEvent[]; next: number | null }>('events', p).then(
        (page) => {
          setEvents((list) => [...(after === null ? [] : (list ?? [])), ...page.events]);
          setNext(page.next);
        },
        (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
      );
    },
    [filters, group],
  );
  useEffect(() => load(null), [load]);
  return (
    <div className="members" data-testid="group-members" data-count={events?.length ?? 0}>
      {error && <p className="error">{error}</p>}
      {events !== null && (
        <EventTable
          events={events}
          onSelect={props.onSelect}
          height={Math.min(300, Math.max(1, events.length) * 30)}
        />
      )}
      {next !== null && (
        <button data-testid="members-more" onClick={() => load(next)}>
          more
        </button>
      )}
    </div>
  );
}

export function AggregateTable(props: {
  readonly rows: readonly AggregateRow[];
  readonly filters: URLSearchParams;
  readonly onSelect: (e: ApiEvent) => void;
}) {
  const [open, setOpen] = useState<ReadonlySet<string>>(new Set());
  const toggle = (group: string): void =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(group)) n.delete(group);
      else n.add(group);
      return n;
    });
  return (
    <div className="table" data-testid="aggregate-table">
      <div className="row head">
        <span className="c-count">repeats</span>
        <EventHead />
      </div>
      <div className="scroll aggregate">
        {props.rows.map((r) => {
          if (r.kind === 'event')
            return (
              <div
                key={`e${r.position}`}
                className={`row ${isDenied(r.event) ? 'denied' : ''}`}
                data-testid="event-row"
                data-sequence={r.event.sequence}
                onClick={() => props.onSelect(r.event)}
              >
                <span className="c-count" />
                <EventCells event={r.event} />
              </div>
            );
          const expanded = open.has(r.group);
          return (
            <div key={`g${r.group}`} className="group" data-testid="group">
              <div
                className={`row folded ${expanded ? 'open' : ''}`}
                data-testid="group-row"
                data-position={r.position}
                title={`${r.first.timestamp} – ${r.last.timestamp} (sequences ${r.first.sequence}–${r.last.sequence})`}
                onClick={() => toggle(r.group)}
              >
                <span className="c-count" data-testid="group-count">
                  {expanded ? '▾' : '▸'} {times(r.count)}
                </span>
                <span className="c-time">{r.first.timestamp.slice(11, 19)}</span>
                <span className="c-action">{r.action}</span>
                <span className="c-listener">{r.listener ?? '–'}</span>
                <span className="c-outcomes" data-testid="group-outcomes">
                  {outcomesText(r.outcomes)}
                </span>
                <span className="c-user">{r.user ?? '–'}</span>
                <span className="c-outcome" />
                <span className="c-text" data-testid="group-text">
                  {r.text ?? ''}
                </span>
              </div>
              {expanded && (
                <GroupMembers row={r} filters={props.filters} onSelect={props.onSelect} />
              )}
            </div>
          );
        })}
      </div>
      {props.rows.length === 0 && <p className="muted">no records</p>}
    </div>
  );
}
