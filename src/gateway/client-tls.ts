/**
 * TLS on the client leg, started by the session (PostgreSQL SSLRequest, MySQL SSL request,
 * a `tls` listener): wrap the raw socket, and on the handshake check the client certificate
 * that `tls.client_auth: require` asks for and describe the session for the records.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { JsonObject } from '../audit/event.js';
import type { ListenerConfig } from '../config/index.js';
import { clientTlsOf, type ClientTls } from '../identity/index.js';

export interface ClientTlsHooks {
  error(err: Error): void;
  /** The handshake finished: what the client presented (before any check). */
  presented(clientTls: ClientTls): void;
  /** `client_auth: require` and no trusted certificate: the connection must end. */
  refused(detail: string): void;
  /** The session is up: `tls` fields for the records, and the peer's CN when it sent one. */
  established(fields: JsonObject, tlsSubject: string | undefined): void;
}

/**
 * Wrap `raw` in a server-side TLSSocket. `leftover` (bytes read past the TLS request) belongs
 * to the handshake and goes back to the stream first.
 */
export function startClientTls(
  raw: net.Socket,
  leftover: Buffer | undefined,
  secureContext: tls.SecureContext,
  settings: ListenerConfig['tls'],
  hooks: ClientTlsHooks,
): tls.TLSSocket {
  raw.removeAllListeners('data');
  raw.removeAllListeners('end');
  // Paused, so that bytes given back below stay buffered for the TLS socket to read.
  raw.pause();
  if (leftover && leftover.length > 0) raw.unshift(leftover);
  const secure = new tls.TLSSocket(raw, {
    isServer: true,
    secureContext,
    requestCert: settings?.client_auth !== 'none',
    rejectUnauthorized: settings?.client_auth === 'require',
  });
  secure.on('error', (err: Error) => hooks.error(err));
  secure.on('secure', () => {
    const clientTls = clientTlsOf(secure, settings?.ca !== undefined);
    hooks.presented(clientTls);
    // A bare TLSSocket (no tls.Server) never enforces rejectUnauthorized itself.
    if (settings?.client_auth === 'require' && clientTls.peer?.trusted !== true) {
      const problem = clientTls.peer?.problem ?? 'no client certificate';
      hooks.refused(`client certificate required: ${problem}`);
      return;
    }
    const peer = secure.getPeerCertificate();
    const fields: JsonObject = {
      tls: {
        established: true,
        version: secure.getProtocol() ?? 'unknown',
        cipher: secure.getCipher().name,
      },
    };
    const hasCn =
      peer && typeof peer.subject === 'object' && peer.subject !== null && 'CN' in peer.subject;
    hooks.established(fields, hasCn ? `CN=${String(peer.subject.CN)}` : undefined);
  });
  return secure;
}
