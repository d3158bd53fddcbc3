/** Overview: live connections per listener, connections and denials over time, alerts, integrity. */
import { useMemo, useState } from 'react';
import { type ApiEvent, type Endpoint, endpoint, refOf } from '../api';
import { TimeChart } from '../components/Chart';
import { NodesCard } from '../components/NodesCard';
import { useJson, useLive, useSession } from '../hooks';
import { href } from '../router';

interface Listener {
  name: string;
  protocol: string;
  listen: string;
  target: string;
  policy: string | null;
  audit_only: boolean;
  active: number;
}
interface Connection {
  id: string;
  listener: string;
  source: Endpoint;
  upstream_local: Endpoint;
  upstream: Endpoint;
  user: string | null;
  bytes_from_client: number;
  bytes_from_server: number;
  started: string;
}
interface Stats {
  buckets: string[];
  series: { listener: string; outcome: string; counts: number[] }[];
  denials: number[];
}
interface Integrity {
  records: number;
  store_healthy: boolean;
  latest_checkpoint: { size: number; time: string } | null;
  last_verify: { ok: boolean; checked_at: string } | null;
}

const STATS = new URLSearchParams({ since: '1h', interval: '1m' });

export function Overview() {
  const central = useSession()?.central === true;
  const listeners = useJson<{ listeners: Listener[] }>('listeners');
  const connections = useJson<{ connections: Connection[] }>('connections');
  const stats = useJson<Stats>('stats', STATS, 30_000);
  const alerts = useJson<{ alerts: ApiEvent[] }>('alerts', new URLSearchParams({ limit: '5' }));
  const integrity = useJson<Integrity>('integrity', undefined, 30_000);
  const [recent, setRecent] = useState<ApiEvent[]>([]);
  const live = useLive(new URLSearchParams({ action: 'connection-open,connection-close' }), (e) => {
    setRecent((r) => [e, ...r].slice(0, 12));
    listeners.reload();
    connections.reload();
    integrity.reload();
    if (e.action === 'connection-open') stats.reload();
  });

  const chart = useMemo(() => {
    const s = stats.data;
    if (!s) return null;
    const times = s.buckets.map((b) => Date.parse(b) / 1000);
    const total = s.buckets.map((_, i) =>
      s.series.filter((x) => x.outcome === 'success').reduce((n, x) => n + (x.counts[i] ?? 0), 0),
    );
    return {
      times,
      series: [
        { label: 'connections', values: total, color: '#2f6fde' },
        { label: 'denials', values: s.denials, color: '#d43c3c' },
      ],
    };
  }, [stats.data]);

  return (
    <div className="page">
      <h1>
        Overview <span className={`pill ${live ? 'on' : ''}`}>{live ? 'live' : 'offline'}</span>
      </h1>
      <div className="grid">
        {central ? (
          <NodesCard />
        ) : (
          <section className="card">
            <h2>Listeners</h2>
            <table className="list" data-testid="listeners">
              <thead>
                <tr>
                  <th>listener</th>
                  <th>protocol</th>
                  <th>listen → target</th>
                  <th>policy</th>
                  <th>open now</th>
                </tr>
              </thead>
              <tbody>
                {(listeners.data?.listeners ?? []).map((l) => (
                  <tr key={l.name}>
                    <td>
                      <a href={href('search', { listener: l.name })}>{l.name}</a>
                    </td>
                    <td>{l.protocol}</td>
                    <td>
                      {l.listen} → {l.target}
                    </td>
                    <td>{l.audit_only ? <span className="warn">audit-only</span> : l.policy}</td>
                    <td className="num" data-testid={`active-${l.name}`}>
                      {l.active}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </section>
        )}
        <section className="card">
          <h2>Integrity</h2>
          {integrity.data && (
            <ul className="facts" data-testid="integrity">
              <li>{integrity.data.records} records</li>
              <li>
                store{' '}
                {integrity.data.store_healthy ? (
                  'accepting'
                ) : (
                  <b className="bad">REFUSING WRITES</b>
                )}
              </li>
              <li>
                latest checkpoint:{' '}
                {integrity.data.latest_checkpoint
                  ? `${integrity.data.latest_checkpoint.size} records at ${integrity.data.latest_checkpoint.time}`
                  : 'none yet'}
              </li>
              <li>
                last verify:{' '}
                {integrity.data.last_verify ? (
                  `${integrity.data.last_verify.ok ? 'intact' : 'TAMPERED'} (${integrity.data.last_verify.checked_at})`
                ) : (
                  <a href={href('integrity')}>not run — verify now</a>
                )}
              </li>
            </ul>
          )}
        </section>
      </div>
      <section className="card">
        <h2>Connections and denials, last hour</h2>
        {chart && <TimeChart times={chart.times} series={chart.series} />}
      </section>
      {!central && (
        <section className="card">
          <h2>Open connections</h2>
          <table className="list" data-testid="connections">
            <thead>
              <tr>
                <th>listener</th>
                <th>client</th>
                <th>gateway → target</th>
                <th>user</th>
                <th>bytes in / out</th>
                <th>since</th>
              </tr>
            </thead>
            <tbody>
              {(connections.data?.connections ?? []).map((c) => (
                <tr key={c.id}>
                  <td>{c.listener}</td>
                  <td>
                    <a href={href('story', { id: c.id })}>{endpoint(c.source)}</a>
                  </td>
                  <td>
                    {endpoint(c.upstream_local)} → {endpoint(c.upstream)}
                  </td>
                  <td>{c.user ?? '–'}</td>
                  <td className="num">
                    {c.bytes_from_client} / {c.bytes_from_server}
                  </td>
                  <td>{c.started.slice(11, 19)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {connections.data?.connections.length === 0 && (
            <p className="muted">no connection open</p>
          )}
        </section>
      )}
      <div className="grid">
        <section className="card">
          <h2>Just now</h2>
          <ul className="feed" data-testid="live-feed">
            {recent.map((e) => (
              <li key={refOf(e)}>
                <a
                  href={
                    e.connection
                      ? href('story', {
                          id: e.connection,
                          ...(e.node !== undefined ? { node: e.node } : {}),
                        })
                      : href('search')
                  }
                >
                  {e.timestamp.slice(11, 19)} {e.action} {e.listener} {endpoint(e.source)}{' '}
                  {e.outcome}
                </a>
              </li>
            ))}
          </ul>
          {recent.length === 0 && <p className="muted">waiting for connections…</p>}
        </section>
        <section className="card">
          <h2>Last alerts</h2>
          <ul className="feed">
            {(alerts.data?.alerts ?? []).map((a) => (
              <li key={refOf(a)}>
                {a.timestamp.slice(0, 19)} {a.action} {a.text ?? ''}
              </li>
            ))}
          </ul>
          {alerts.data?.alerts.length === 0 && <p className="muted">no alerts</p>}
        </section>
      </div>
    </div>
  );
}
