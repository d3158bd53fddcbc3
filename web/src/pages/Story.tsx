/** One connection's story: every record of it, oldest first; each action beside its outcome. */
import { useState } from 'react';
import { type ApiEvent, endpoint, fieldOf, fieldText, refOf } from '../api';
import { DetailDrawer } from '../components/DetailDrawer';
import { useJson } from '../hooks';

interface Story {
  connection: string;
  open: boolean;
  events: ApiEvent[];
}

export function StoryPage(props: { readonly params: URLSearchParams }) {
  const id = props.params.get('id') ?? '';
  const node = props.params.get('node');
  const story = useJson<Story>(
    `connections/${encodeURIComponent(id)}/story`,
    node !== null ? new URLSearchParams({ node }) : undefined,
  );
  const [selected, setSelected] = useState<string | null>(null);
  if (id === '')
    return (
      <div className="page">
        <h1>Connection story</h1>
        <p className="muted">pick a connection from Search or Overview</p>
      </div>
    );
  const events = story.data?.events ?? [];
  const outcomes = new Map<string, ApiEvent>();
  for (const e of events) {
    const ref = fieldOf(e.record, 'event.reference');
    if (typeof ref === 'string') outcomes.set(ref, e);
  }
  const first = events[0];
  return (
    <div className="page">
      <h1>Connection {id}</h1>
      {story.error && <p className="error">{story.error}</p>}
      {first && (
        <p data-testid="story-tuple">
          {endpoint(first.source)} → {endpoint(first.destination)} ({first.listener}) · gateway{' '}
          {endpoint(first.upstream_local)} → {endpoint(first.upstream)} ·{' '}
          {story.data?.open ? 'open now' : 'closed'}
        </p>
      )}
      <ol className="story">
        {events
          .filter((e) => typeof fieldOf(e.record, 'event.reference') !== 'string')
          .map((e) => {
            const result = outcomes.get(e.id);
            return (
              <li key={refOf(e)} onClick={() => setSelected(refOf(e))} data-testid="story-item">
                <span className="time">{e.timestamp.slice(11, 23)}</span> <b>{e.action}</b>{' '}
                {e.user ?? ''} <span className={e.outcome ?? ''}>{e.outcome}</span>
                {e.text !== null && <pre className="statement">{e.text}</pre>}
                {result && (
                  <span className="muted">
                    → {result.action} {result.outcome}{' '}
                    {fieldText(result.record, 'db.response.returned_rows')}
                  </span>
                )}
              </li>
            );
          })}
      </ol>
      {selected !== null && <DetailDrawer sequence={selected} onClose={() => setSelected(null)} />}
    </div>
  );
}
