/**
 * A connection refused while the audit store is unavailable, answered in its protocol's own
 * words (PostgreSQL 57P03, MySQL ERR 1040, Redis -ERR, HTTP 503) instead of a bare close.
 * The connection is already recorded (connection-open, reason store-unavailable) and has left
 * the listener's books; this only talks to the client, never to the target.
 *
 * Bounded: at most MAX_ACTIVE such conversations at once (beyond: closed at once), each
 * ended after `deadlineMs`; after the answer the gateway half-closes and reads (discarding)
 * for at most LINGER_MS, so the client reads the answer before the close instead of a reset.
 */
import type net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ConnectionRefusalFactory, RefusalContext } from '../protocols/index.js';

const MAX_ACTIVE = 1024;
const LINGER_MS = 2000;

let active = 0;

export interface NativeRefusalOptions {
  readonly socket: net.Socket;
  /** Client bytes already read (after a PROXY header). */
  readonly early: readonly Buffer[];
  readonly factory: ConnectionRefusalFactory;
  /** The listener's certificate, for a client that asks for TLS first. */
  readonly tlsContext: tls.SecureContext | null;
  readonly deadlineMs: number;
}

/** Talk the client out of its connection; false when too many already are (close it then). */
export function refuseNatively(opts: NativeRefusalOptions): boolean {
  if (active >= MAX_ACTIVE) return false;
  active++;
  const raw = opts.socket;
  let stream: Duplex = raw;
  let released = false;
  let answered = false;
  let linger: NodeJS.Timeout | null = null;

  const release = (): void => {
    if (released) return;
    released = true;
    active--;
    clearTimeout(deadline);
    if (linger !== null) clearTimeout(linger);
  };
  const destroy = (): void => {
    release();
    if (stream !== raw) stream.destroy();
    raw.destroy();
  };
  const deadline = setTimeout(destroy, opts.deadlineMs);
  deadline.unref();

  const onData = (chunk: Buffer): void => {
    if (answered) return; // lingering: read and drop
    try {
      refusal.onClientData(chunk);
    } catch {
      destroy();
    }
  };
  const onEnd = (): void => {
    // The client stopped sending: whatever we answered is out, nothing more will be.
    destroy();
  };

  const ctx: RefusalContext = {
    toClient: (bytes) => {
      if (!stream.destroyed && stream.writable) stream.write(bytes);
    },
    done: () => {
      if (answered) return;
      answered = true;
      stream.end();
      linger = setTimeout(destroy, LINGER_MS);
      linger.unref();
    },
    ...(opts.tlsContext === null
      ? {}
      : {
          startClientTls: (leftover?: Buffer): void => {
            const context = opts.tlsContext;
            if (context === null || stream !== raw) return;
            raw.off('data', onData);
            raw.off('end', onEnd);
            raw.pause();
            if (leftover && leftover.length > 0) raw.unshift(leftover);
            const secure = new tls.TLSSocket(raw, { isServer: true, secureContext: context });
            secure.on('error', destroy);
            secure.on('data', onData);
            secure.on('end', onEnd);
            stream = secure;
          },
        }),
  };
  const refusal = opts.factory(ctx);

  raw.on('close', release);
  raw.on('error', destroy);
  try {
    refusal.start();
    for (const chunk of opts.early) if (stream === raw) onData(chunk);
  } catch {
    destroy();
    return true;
  }
  if (released || stream !== raw) return true;
  raw.on('data', onData);
  raw.on('end', onEnd);
  raw.resume();
  return true;
}
