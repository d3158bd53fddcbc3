/** Integrity: signed checkpoints and "verify now" (every leaf, every root, every signature). */
import { useState } from 'react';
import { postJson } from '../api';
import { useJson } from '../hooks';

interface Checkpoint {
  node?: string;
  size: number;
  time: string;
  root: string;
  note: string;
}
type VerifyReport = {
  ok: boolean;
  checked_at: string;
  duration_ms: number;
  size?: number;
  checkpoints?: number;
  kind?: string;
  sequence?: number;
  detail?: string;
};

export function IntegrityPage() {
  const status = useJson<{ records: number; last_verify: VerifyReport | null }>('integrity');
  const checkpoints = useJson<{ checkpoints: Checkpoint[] }>('checkpoints');
  const [running, setRunning] = useState(false);
  const [result, setResult] = useState<VerifyReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const verify = (): void => {
    setRunning(true);
    postJson<VerifyReport>('integrity/verify').then(
      (r) => {
        setResult(r);
        setRunning(false);
        status.reload();
      },
      (err: unknown) => {
        setError(err instanceof Error ? err.message : String(err));
        setRunning(false);
      },
    );
  };
  const shown = result ?? status.data?.last_verify ?? null;
  return (
    <div className="page">
      <h1>Integrity</h1>
      <p>
        {status.data?.records ?? '…'} records.{' '}
        <button onClick={verify} disabled={running} data-testid="verify-now">
          {running ? 'verifying…' : 'Verify now'}
        </button>
      </p>
      {error && <p className="error">{error}</p>}
      {shown && (
        <p className={`badge ${shown.ok ? 'ok' : 'bad'}`} data-testid="verify-result">
          {shown.ok
            ? `✓ intact: ${shown.size ?? '?'} records and ${shown.checkpoints ?? '?'} signed checkpoints verified`
            : `✗ TAMPERED: ${shown.kind ?? ''} at sequence ${shown.sequence ?? '?'}: ${shown.detail ?? ''}`}{' '}
          ({shown.checked_at}, {shown.duration_ms} ms)
        </p>
      )}
      {checkpoints.error && <p className="error">{checkpoints.error}</p>}
      <table className="list">
        <thead>
          <tr>
            <th>tree size</th>
            <th>time</th>
            <th>root</th>
            <th>signed note</th>
          </tr>
        </thead>
        <tbody>
          {(checkpoints.data?.checkpoints ?? []).map((c) => (
            <tr key={`${c.node ?? ''}:${c.size}`}>
              <td className="num">
                {c.node !== undefined && <b>{c.node} </b>}
                {c.size}
              </td>
              <td>{c.time.slice(0, 19)}</td>
              <td className="mono">{c.root.slice(0, 16)}…</td>
              <td>
                <pre className="json small">{c.note}</pre>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
