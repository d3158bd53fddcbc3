/** Inventory: what listens on this host, who holds it, and whether it is behind portwarden. */
import { useJson } from '../hooks';

interface Socket {
  ip: string;
  port: number;
  family: string;
  processes: { pid: number; comm: string | null; exe: string | null; user: string | null }[];
  portwarden_listener: string | null;
}

export function InventoryPage() {
  const inv = useJson<{ scanned: string; sockets: Socket[] }>('inventory');
  return (
    <div className="page">
      <h1>Inventory</h1>
      {inv.error && <p className="error">{inv.error}</p>}
      {inv.data && <p className="muted">scanned {inv.data.scanned}</p>}
      <table className="list" data-testid="inventory">
        <thead>
          <tr>
            <th>address</th>
            <th>family</th>
            <th>process</th>
            <th>user</th>
            <th>portwarden</th>
          </tr>
        </thead>
        <tbody>
          {(inv.data?.sockets ?? []).map((s) => (
            <tr key={`${s.family}-${s.ip}-${s.port}`}>
              <td className="mono">
                {s.ip}:{s.port}
              </td>
              <td>{s.family}</td>
              <td>{s.processes.map((p) => `${p.comm ?? '?'} (${p.pid})`).join(', ') || '–'}</td>
              <td>{s.processes[0]?.user ?? '–'}</td>
              <td>{s.portwarden_listener ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
