/**
 * One record in full: the two legs of the tuple, identity, the policy decision, its outcome,
 * and a "verified" badge computed here from the inclusion proof. Everything from the record
 * is rendered as text (React escapes it); nothing is ever inserted as HTML.
 */
import { useEffect, useState } from 'react';
import { type ApiEvent, type JsonValue, endpoint, fieldOf, getJson } from '../api';
import { href } from '../router';
import { type ProofJson, type Verdict, verifyInclusion } from '../verify';

interface Detail {
  readonly event: ApiEvent;
  readonly outcome: ApiEvent | null;
}

type ProofAnswer = { available: true; proof: ProofJson } | { available: false; reason: string };

function show(v: JsonValue | undefined): string {
  if (v === undefined || v === null) return '–';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** `sequence`: a record's sequence, or its NODE:SEQ on the central API (refOf). */
export function DetailDrawer(props: {
  readonly sequence: number | string;
  readonly onClose: () => void;
}) {
  const [detail, setDetail] = useState<Detail | null>(null);
  const [verdict, setVerdict] = useState<Verdict | { pending: true } | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    setDetail(null);
    setVerdict({ pending: true });
    getJson<Detail>(`events/${props.sequence}`).then(
      async (d) => {
        if (!live) return;
        setDetail(d);
        try {
          const answer = await getJson<ProofAnswer>(`events/${props.sequence}/proof`);
          if (!answer.available) setVerdict({ ok: false, reason: answer.reason });
          else if (d.event.canonical == null)
            setVerdict({ ok: false, reason: 'record body pruned' });
          else setVerdict(await verifyInclusion(d.event.canonical, answer.proof));
        } catch (err) {
          setVerdict({ ok: false, reason: err instanceof Error ? err.message : String(err) });
        }
      },
      (err: unknown) => setError(err instanceof Error ? err.message : String(err)),
    );
    return () => {
      live = false;
    };
  }, [props.sequence]);

  const e = detail?.event;
  const r = e?.record ?? null;
  return (
    <aside className="drawer" data-testid="drawer">
      <header>
        <h2>
          #{props.sequence} {e?.action ?? ''}
        </h2>
        <button onClick={props.onClose} aria-label="close">
          ×
        </button>
      </header>
      {error && <p className="error">{error}</p>}
      {verdict && 'pending' in verdict && <span className="badge">checking proof…</span>}
      {verdict && 'ok' in verdict && verdict.ok && (
        <span className="badge ok" data-testid="verified">
          ✓ verified in the browser: leaf {verdict.index} of {verdict.size}
          {verdict.signed ? ', signed checkpoint' : ', current tree head (not yet checkpointed)'}
        </span>
      )}
      {verdict && 'ok' in verdict && !verdict.ok && (
        <span className="badge bad" data-testid="not-verified">
          not verified: {verdict.reason}
        </span>
      )}
      {e && (
        <>
          <section>
            <h3>Tuple</h3>
            <table className="kv">
              <tbody>
                <tr>
                  <th>client (source)</th>
                  <td data-testid="source">{endpoint(e.source)}</td>
                </tr>
                <tr>
                  <th>listener (destination)</th>
                  <td>
                    {endpoint(e.destination)} · {e.listener ?? '–'}
                  </td>
                </tr>
                <tr>
                  <th>gateway → target (upstream local)</th>
                  <td>{endpoint(e.upstream_local)}</td>
                </tr>
                <tr>
                  <th>target (upstream)</th>
                  <td>{endpoint(e.upstream)}</td>
                </tr>
                <tr>
                  <th>community id</th>
                  <td>{e.community_id ?? '–'}</td>
                </tr>
                <tr>
                  <th>connection</th>
                  <td>
                    {e.connection ? (
                      <a
                        href={href('story', {
                          id: e.connection,
                          ...(e.node !== undefined ? { node: e.node } : {}),
                        })}
                      >
                        {e.connection}
                      </a>
                    ) : (
                      '–'
                    )}
                  </td>
                </tr>
              </tbody>
            </table>
          </section>
          <section>
            <h3>Identity</h3>
            <table className="kv">
              <tbody>
                <tr>
                  <th>user</th>
                  <td>{e.user ?? '–'}</td>
                </tr>
                <tr>
                  <th>database</th>
                  <td>{show(fieldOf(r, 'db.namespace'))}</td>
                </tr>
                <tr>
                  <th>process</th>
                  <td>{show(fieldOf(r, 'process'))}</td>
                </tr>
                <tr>
                  <th>application</th>
                  <td>
                    {show(
                      fieldOf(r, 'db.client.application_name') ?? fieldOf(r, 'user_agent.original'),
                    )}
                  </td>
                </tr>
              </tbody>
            </table>
          </section>
          <section>
            <h3>Decision</h3>
            <table className="kv">
              <tbody>
                <tr>
                  <th>outcome</th>
                  <td>
                    {e.outcome ?? '–'} {show(fieldOf(r, 'event.type'))}
                  </td>
                </tr>
                <tr>
                  <th>rule</th>
                  <td>{show(fieldOf(r, 'rule.id'))}</td>
                </tr>
                <tr>
                  <th>policy version</th>
                  <td>{show(fieldOf(r, 'policy.version'))}</td>
                </tr>
                <tr>
                  <th>reason</th>
                  <td>{show(fieldOf(r, 'event.reason'))}</td>
                </tr>
              </tbody>
            </table>
          </section>
          {e.text !== null && (
            <section>
              <h3>Statement / command / path</h3>
              <pre className="statement" data-testid="statement">
                {e.text}
              </pre>
            </section>
          )}
          {detail?.outcome && (
            <section>
              <h3>Result</h3>
              <pre className="json">{JSON.stringify(detail.outcome.record, null, 2)}</pre>
            </section>
          )}
          <section>
            <h3>Record (canonical JSON as hashed)</h3>
            <pre className="json">{JSON.stringify(r, null, 2)}</pre>
          </section>
        </>
      )}
    </aside>
  );
}
