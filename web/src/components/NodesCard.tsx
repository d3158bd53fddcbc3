/** The central API's nodes: records, last verified checkpoint, pending, quarantined, findings. */
import { useJson } from '../hooks';
import { href } from '../router';

interface NodeRow {
  node: string;
  records: number;
  checkpoint_size: number | null;
  pending: number;
  quarantined: number;
  findings: number;
  broken: boolean;
}

export function NodesCard() {
  const nodes = useJson<{ nodes: NodeRow[] }>('nodes', undefined, 30_000);
  return (
    <section className="card">
      <h2>Nodes</h2>
      {nodes.error && <p className="error">{nodes.error}</p>}
      <table className="list" data-testid="nodes">
        <thead>
          <tr>
            <th>node</th>
            <th>records</th>
            <th>checkpoint</th>
            <th>pending</th>
            <th>quarantined</th>
            <th>findings</th>
            <th>chain</th>
          </tr>
        </thead>
        <tbody>
          {(nodes.data?.nodes ?? []).map((n) => (
            <tr key={n.node}>
              <td>
                <a href={href('search', { node: n.node })}>{n.node}</a>
              </td>
              <td className="num">{n.records}</td>
              <td className="num">{n.checkpoint_size ?? '–'}</td>
              <td className="num">{n.pending}</td>
              <td className="num">{n.quarantined}</td>
              <td className="num">{n.findings}</td>
              <td>{n.broken ? <b className="bad">BROKEN</b> : 'ok'}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
