/** A virtualized table of records: only the visible rows are in the DOM, however many there are. */
import { useVirtualizer } from '@tanstack/react-virtual';
import { useRef } from 'react';
import { type ApiEvent, endpoint, isDenied, refOf } from '../api';

const ROW = 30;

/** The column headings of a record row. */
export function EventHead() {
  return (
    <>
      <span className="c-time">time</span>
      <span className="c-action">action</span>
      <span className="c-listener">listener</span>
      <span className="c-ep">source</span>
      <span className="c-ep">upstream local</span>
      <span className="c-user">user</span>
      <span className="c-outcome">outcome</span>
      <span className="c-text">statement / command / path</span>
    </>
  );
}

/** The cells of one record row (every value rendered as text). */
export function EventCells(props: { readonly event: ApiEvent }) {
  const e = props.event;
  return (
    <>
      <span className="c-time" title={e.timestamp}>
        {e.timestamp.slice(11, 23)}
      </span>
      <span className="c-action">{e.action}</span>
      <span className="c-listener" title={e.node}>
        {e.node !== undefined && <b className="node">{e.node} </b>}
        {e.listener ?? '–'}
      </span>
      <span className="c-ep">{endpoint(e.source)}</span>
      <span className="c-ep">{endpoint(e.upstream_local)}</span>
      <span className="c-user">{e.user ?? '–'}</span>
      <span className={`c-outcome ${e.outcome ?? ''}`}>
        {isDenied(e) ? 'denied' : (e.outcome ?? '–')}
      </span>
      <span className="c-text">{e.text ?? ''}</span>
    </>
  );
}

export function EventTable(props: {
  readonly events: readonly ApiEvent[];
  readonly onSelect: (e: ApiEvent) => void;
  readonly height?: number;
}) {
  const parent = useRef<HTMLDivElement>(null);
  const virtual = useVirtualizer({
    count: props.events.length,
    getScrollElement: () => parent.current,
    estimateSize: () => ROW,
    overscan: 12,
  });
  return (
    <div className="table">
      <div className="row head">
        <EventHead />
      </div>
      <div ref={parent} className="scroll" style={{ height: props.height ?? 520 }}>
        <div style={{ height: virtual.getTotalSize(), position: 'relative' }}>
          {virtual.getVirtualItems().map((item) => {
            const e = props.events[item.index];
            if (!e) return null;
            return (
              <div
                key={refOf(e)}
                className={`row ${isDenied(e) ? 'denied' : ''}`}
                data-testid="event-row"
                data-sequence={e.sequence}
                data-node={e.node}
                style={{ position: 'absolute', top: item.start, height: ROW, left: 0, right: 0 }}
                onClick={() => props.onSelect(e)}
              >
                <EventCells event={e} />
              </div>
            );
          })}
        </div>
      </div>
      {props.events.length === 0 && <p className="muted">no records</p>}
    </div>
  );
}
