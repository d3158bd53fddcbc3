/**
 * The client leg's TLS as a sign-in sees it once the handshake is done: the gateway's own
 * certificate (PostgreSQL channel binding hashes it) and the certificate the client presented,
 * with whether the listener's CA (`tls.ca`) vouched for it (mTLS sign-in, docs/identity.md).
 */
import type tls from 'node:tls';

export interface ClientCertificate {
  /** The subject in RFC 4514 form, most specific first: `CN=alice,O=Acme,C=DE`. */
  readonly subject: string;
  /** Signed by the listener's `tls.ca` (and valid now). */
  readonly trusted: boolean;
  /** Why it is not trusted (OpenSSL's code, or `listener has no tls.ca`). */
  readonly problem?: string;
}

export interface ClientTls {
  /** DER of the certificate the gateway presented. */
  readonly ownCertificate?: Buffer;
  /** The client's certificate, when it sent one. */
  readonly peer?: ClientCertificate;
}

/**
 * Node prints a subject one attribute per line in certificate order, values escaped as
 * RFC 2253 asks; RFC 4514 writes the same attributes most specific first, comma-separated.
 */
export function rfc4514Subject(nodeSubject: string): string {
  return nodeSubject.split('\n').filter(Boolean).reverse().join(',');
}

/**
 * OpenSSL's verdict on the client's chain against the context's CA. A `tls.Server` turns it
 * into `authorized`; the gateway wraps accepted sockets itself (a protocol upgrades in-band),
 * where Node leaves `authorized` unset, so ask the TLS handle as tls.Server does.
 */
function verifyProblem(socket: tls.TLSSocket): string | null {
  if (socket.authorized) return null;
  const handle = (socket as unknown as { _handle?: { verifyError?: () => unknown } })._handle;
  if (typeof handle?.verifyError !== 'function') return 'verification unavailable';
  const error = handle.verifyError() as { code?: unknown } | null | undefined;
  if (error === null || error === undefined) return null;
  return typeof error.code === 'string' ? error.code : 'verification failed';
}

/**
 * What a server-side TLS socket knows after its handshake. `caConfigured`: without the
 * listener's own CA, Node would have checked the client against the public web roots, which
 * must never sign anyone in.
 */
export function clientTlsOf(socket: tls.TLSSocket, caConfigured: boolean): ClientTls {
  const own = socket.getX509Certificate();
  const peer = socket.getPeerX509Certificate();
  let certificate: ClientCertificate | undefined;
  if (peer !== undefined) {
    const subject = rfc4514Subject(peer.subject);
    if (!caConfigured) {
      certificate = { subject, trusted: false, problem: 'listener has no tls.ca' };
    } else {
      const problem = verifyProblem(socket);
      certificate =
        problem === null ? { subject, trusted: true } : { subject, trusted: false, problem };
    }
  }
  return {
    ...(own === undefined ? {} : { ownCertificate: own.raw }),
    ...(certificate === undefined ? {} : { peer: certificate }),
  };
}
