/**
 * Reaching the target: the TCP connect within `connect_timeout`, then for a PostgreSQL
 * listener with `upstream_tls` the in-band TLS negotiation (upstream-tls.ts).
 */
import net from 'node:net';
import type { ListenerConfig } from '../config/index.js';
import { errorMessage, PortwardenError } from '../errors.js';
import { negotiatePostgresTls } from './upstream-tls.js';

export interface UpstreamHooks {
  /**
   * The target is reachable: `socket` carries the traffic (a TLSSocket over `raw` when TLS was
   * negotiated, otherwise `raw` itself).
   */
  ready(socket: net.Socket, raw: net.Socket): void;
  /** TLS toward the target could not be negotiated (the TCP socket is destroyed). */
  failed(detail: string): void;
  /** An error on the TCP socket: a failed connect, or later, a reset. */
  error(err: Error): void;
  /** An error on the TLS socket over it. */
  secureError(err: Error): void;
  /** The TCP socket closed. */
  closed(): void;
}

/** Connect to the listener's target; returns the TCP socket at once. */
export function connectUpstream(config: ListenerConfig, hooks: UpstreamHooks): net.Socket {
  const target = config.target;
  const up = net.connect({
    host: target.host,
    port: target.port,
    allowHalfOpen: true,
    noDelay: true,
  });
  const timer = setTimeout(() => {
    up.destroy(
      new PortwardenError('PW_ERR_UPSTREAM_TIMEOUT', {
        target: `${target.host}:${target.port}`,
        ms: config.connect_timeout,
      }),
    );
  }, config.connect_timeout);
  up.once('connect', () => {
    clearTimeout(timer);
    if (config.protocol !== 'postgres' || config.upstream_tls === 'disable') {
      hooks.ready(up, up);
      return;
    }
    negotiatePostgresTls(up, {
      mode: config.upstream_tls,
      servername: target.host,
      timeoutMs: config.connect_timeout,
      ...(config.upstream_ca ? { caFile: config.upstream_ca } : {}),
    }).then(
      (secure) => {
        if (secure !== up) secure.on('error', (err) => hooks.secureError(err));
        hooks.ready(secure, up);
      },
      (err: unknown) => {
        up.destroy();
        hooks.failed(errorMessage(err));
      },
    );
  });
  up.on('error', (err) => {
    clearTimeout(timer);
    hooks.error(err);
  });
  up.on('close', () => hooks.closed());
  return up;
}
