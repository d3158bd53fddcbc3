/** Policies: what is in force, its versions over time with what changed, and reload (admin). */
import { useState } from 'react';
import { type ApiEvent, type JsonValue, fieldOf, fieldText, postJson } from '../api';
import { useJson } from '../hooks';

interface Policies {
  policies: { name: string; version: string; listeners: string[]; policy: JsonValue }[];
  listeners: { name: string; policy: string | null; version: string | null }[];
}

export function PoliciesPage() {
  const current = useJson<Policies>('policies');
  const versions = useJson<{ reloads: ApiEvent[] }>('policies/versions');
  const [message, setMessage] = useState<string | null>(null);
  const reload = (): void => {
    postJson<{ ok: boolean; error?: string }>('policies/reload').then(
      (r) => {
        setMessage(r.ok ? 'reloaded' : `rejected: ${r.error ?? ''}`);
        current.reload();
        versions.reload();
      },
      (err: unknown) => setMessage(err instanceof Error ? err.message : String(err)),
    );
  };
  return (
    <div className="page">
      <h1>Policies</h1>
      <p>
        <button onClick={reload}>Reload from config (admin)</button>{' '}
        {message && <span className="muted">{message}</span>}
      </p>
      <section className="card">
        <h2>Listeners</h2>
        <table className="list">
          <thead>
            <tr>
              <th>listener</th>
              <th>policy</th>
              <th>version in force</th>
            </tr>
          </thead>
          <tbody>
            {(current.data?.listeners ?? []).map((l) => (
              <tr key={l.name}>
                <td>{l.name}</td>
                <td>{l.policy ?? <span className="warn">audit-only</span>}</td>
                <td className="mono">{l.version ?? '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </section>
      {(current.data?.policies ?? []).map((p) => (
        <section className="card" key={p.name}>
          <h2>
            {p.name} <span className="mono muted">{p.version}</span>
          </h2>
          <p className="muted">used by {p.listeners.join(', ') || 'no listener'}</p>
          <pre className="json">{JSON.stringify(p.policy, null, 2)}</pre>
        </section>
      ))}
      <section className="card">
        <h2>Versions and changes</h2>
        <table className="list">
          <thead>
            <tr>
              <th>time</th>
              <th>outcome</th>
              <th>what</th>
              <th>changes (diff)</th>
            </tr>
          </thead>
          <tbody>
            {(versions.data?.reloads ?? []).map((r) => (
              <tr key={r.sequence}>
                <td>{r.timestamp.slice(0, 19)}</td>
                <td className={r.outcome ?? ''}>{r.outcome}</td>
                <td>{fieldText(r.record, 'message', 'event.reason')}</td>
                <td>
                  <pre className="json small">
                    {JSON.stringify(
                      fieldOf(r.record, 'policy.changes') ??
                        fieldOf(r.record, 'policy.rejected_changes') ??
                        null,
                      null,
                      2,
                    )}
                  </pre>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {versions.data?.reloads.length === 0 && <p className="muted">no reload recorded yet</p>}
      </section>
    </div>
  );
}
