/**
 * TLS on the gateway→target leg (listener `upstream_tls`). PostgreSQL negotiates it in-band:
 * the client side (here, the gateway) sends SSLRequest and the server answers one byte, `S`
 * (go ahead with a TLS handshake) or `N` (no TLS) — protocol-flow §53.2.10.
 */
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { PortwardenError } from '../errors.js';

export type UpstreamTlsMode = 'disable' | 'prefer' | 'require' | 'verify-full';

const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f]); // length 8, code 80877103

export interface UpstreamTlsOptions {
  readonly mode: UpstreamTlsMode;
  /** Host name checked against the certificate in verify-full (the target's host). */
  readonly servername: string;
  /** PEM file of CAs trusted for the target (default: Node's bundled CAs). */
  readonly caFile?: string;
  readonly timeoutMs: number;
}

/**
 * Negotiate TLS with a PostgreSQL target on a connected socket. Resolves with the socket to
 * use (a TLSSocket, or the plain socket when `prefer` and the server said `N`).
 */
export function negotiatePostgresTls(
  socket: net.Socket,
  opts: UpstreamTlsOptions,
): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => fail(`no answer to SSLRequest within ${opts.timeoutMs} ms`),
      opts.timeoutMs,
    );
    const fail = (detail: string): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      reject(
        new PortwardenError('PW_ERR_UPSTREAM_UNREACHABLE', { target: opts.servername, detail }),
      );
    };
    const onData = (chunk: Buffer): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      const answer = chunk[0];
      if (chunk.length !== 1 || (answer !== 0x53 && answer !== 0x4e)) {
        fail(`unexpected answer to SSLRequest (${chunk.length} bytes)`);
        return;
      }
      if (answer === 0x4e) {
        if (opts.mode === 'prefer') resolve(socket);
        else fail('target does not support TLS (answered N) but upstream_tls is ' + opts.mode);
        return;
      }
      const secure = tls.connect({
        socket,
        ...(net.isIP(opts.servername) === 0 ? { servername: opts.servername } : {}),
        rejectUnauthorized: opts.mode === 'verify-full',
        ...(opts.mode === 'verify-full' && opts.caFile ? { ca: readFileSync(opts.caFile) } : {}),
        checkServerIdentity:
          opts.mode === 'verify-full' ? tls.checkServerIdentity : () => undefined,
      });
      secure.once('secureConnect', () => resolve(secure));
      secure.once('error', (err: Error) => fail(`TLS handshake: ${err.message}`));
    };
    socket.on('data', onData);
    socket.write(SSL_REQUEST);
  });
}
