/**
 * The PROXY header on the client leg: read it from a trusted peer before anything else, and
 * recognise one sent by an untrusted peer (an attempt to spoof the source).
 */
import type net from 'node:net';
import { errorMessage } from '../errors.js';
import { ProxyHeaderReader, type ProxyHeader } from './proxy-protocol.js';

const PROXY_V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51]);
const PROXY_HEADER_TIMEOUT_MS = 5000;

export interface ProxyIntakeHooks {
  /** The header was read; `rest` is what the client sent after it. The socket is paused. */
  header(header: ProxyHeader, rest: Buffer): void;
  /** No header within 5 s, or a malformed one. */
  failed(detail: string): void;
}

/** Read a PROXY header (v1 or v2) from a trusted peer's socket. */
export function readProxyHeader(socket: net.Socket, hooks: ProxyIntakeHooks): void {
  const reader = new ProxyHeaderReader();
  const timer = setTimeout(
    () => hooks.failed('no PROXY header within 5 s'),
    PROXY_HEADER_TIMEOUT_MS,
  );
  const onData = (chunk: Buffer): void => {
    try {
      const result = reader.push(chunk);
      if (result.state === 'need-more') return;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.pause();
      hooks.header(result.header, result.rest);
    } catch (err) {
      clearTimeout(timer);
      socket.off('data', onData);
      hooks.failed(errorMessage(err));
    }
  };
  socket.on('data', onData);
  socket.resume();
}

/** Whether a client's first chunk starts like a PROXY header (v1 text or v2 signature). */
export function looksLikeProxyHeader(chunk: Buffer): boolean {
  if (chunk.length >= 6 && chunk.toString('latin1', 0, 6) === 'PROXY ') return true;
  return chunk.length >= 8 && chunk.subarray(0, 8).equals(PROXY_V2_SIGNATURE);
}
