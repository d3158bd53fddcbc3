/** Alerts: records of kind alert from the detectors, newest first. */
import { useState } from 'react';
import { type ApiEvent, fieldText, refOf } from '../api';
import { DetailDrawer } from '../components/DetailDrawer';
import { useJson } from '../hooks';

export function AlertsPage() {
  const alerts = useJson<{ alerts: ApiEvent[] }>(
    'alerts',
    new URLSearchParams({ limit: '500' }),
    15_000,
  );
  const [selected, setSelected] = useState<string | null>(null);
  return (
    <div className="page">
      <h1>Alerts</h1>
      {alerts.error && <p className="error">{alerts.error}</p>}
      <table className="list">
        <thead>
          <tr>
            <th>time</th>
            <th>alert</th>
            <th>severity</th>
            <th>listener</th>
            <th>reason</th>
          </tr>
        </thead>
        <tbody>
          {(alerts.data?.alerts ?? []).map((a) => (
            <tr key={refOf(a)} onClick={() => setSelected(refOf(a))}>
              <td>{a.timestamp.slice(0, 19)}</td>
              <td>{a.action}</td>
              <td>{fieldText(a.record, 'event.severity') || '–'}</td>
              <td>{a.listener ?? '–'}</td>
              <td>{fieldText(a.record, 'event.reason', 'message')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {alerts.data?.alerts.length === 0 && <p className="muted">no alerts recorded</p>}
      {selected !== null && <DetailDrawer sequence={selected} onClose={() => setSelected(null)} />}
    </div>
  );
}
