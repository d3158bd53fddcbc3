/**
 * Client TLS for protocols without an in-band upgrade (Redis, HTTP): when the listener has
 * `tls:`, a connection whose first byte opens a TLS handshake record (0x16, which begins no
 * RESP or HTTP/1.1 message) is TLS from its first byte — `redis-cli --tls`, `https://`. The
 * gateway terminates it and the protocol session sees the decrypted bytes, so commands stay
 * visible and a client certificate can sign in (mTLS, docs/identity.md). A plain first byte
 * keeps the connection plain.
 */
import type {
  ConnectionRefusal,
  ConnectionRefusalFactory,
  ProtocolSession,
  RefusalContext,
  SessionContext,
  SessionFactory,
} from './session.js';

const TLS_HANDSHAKE_RECORD = 0x16;

/** `factory`'s session, with TLS from the first byte when the listener terminates TLS. */
export function withImplicitTls(factory: SessionFactory): SessionFactory {
  return (ctx: SessionContext): ProtocolSession => {
    const { startClientTls, ...rest } = ctx;
    if (startClientTls === undefined) return factory(ctx);
    const session = factory(rest);
    // Only the first client chunk is looked at; every other hook stays the session's own.
    const onClientData = session.onClientData.bind(session);
    let decided = false;
    session.onClientData = (chunk: Buffer): void => {
      if (!decided && chunk.length > 0) {
        decided = true;
        if (chunk[0] === TLS_HANDSHAKE_RECORD) {
          // The chunk is the start of the ClientHello: hand it back to the TLS layer.
          startClientTls(chunk);
          return;
        }
      }
      onClientData(chunk);
    };
    return session;
  };
}

/** The same first-byte rule for a connection refused natively (audit store unavailable). */
export function withImplicitTlsRefusal(
  factory: ConnectionRefusalFactory,
): ConnectionRefusalFactory {
  return (ctx: RefusalContext): ConnectionRefusal => {
    const { startClientTls, ...rest } = ctx;
    if (startClientTls === undefined) return factory(ctx);
    const refusal = factory(rest);
    let decided = false;
    return {
      start: () => refusal.start(),
      onClientData: (chunk: Buffer): void => {
        if (!decided && chunk.length > 0) {
          decided = true;
          if (chunk[0] === TLS_HANDSHAKE_RECORD) {
            startClientTls(chunk);
            return;
          }
        }
        refusal.onClientData(chunk);
      },
    };
  };
}
