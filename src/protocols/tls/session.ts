/**
 * Opaque TLS relay that reads the ClientHello on the way: the first client bytes are held
 * until the ClientHello is whole (bounded), recorded as `tls-client-hello` with SNI, ALPN,
 * offered version and JA3 annotated onto the connection, then forwarded untouched; from
 * then on bytes flow both ways as they arrive. Bytes that are not a ClientHello are never
 * forwarded: the attempt is recorded as a failure and the connection closed with
 * `protocol-error` (a TLS listener that relays anything would be a plain TCP hole).
 */
import type { JsonObject } from '../../audit/event.js';
import { ProtocolError } from '../../errors.js';
import type { ProtocolSession, SessionContext, SessionFactory } from '../session.js';
import {
  ClientHelloReader,
  DEFAULT_CLIENT_HELLO_LIMITS,
  ja3,
  offeredVersion,
  versionName,
} from './client-hello.js';
import type { ClientHello } from './client-hello.js';

/** The `tls` fields merged into every later record of the connection. */
export function helloAnnotation(hello: ClientHello): { tls: JsonObject & { client: JsonObject } } {
  const version = offeredVersion(hello);
  const client: JsonObject = { ja3: ja3(hello).hash };
  if (hello.serverName !== undefined) client['server_name'] = hello.serverName;
  const tls = {
    version: versionName(version),
    version_protocol: version === 0x0300 ? 'ssl' : 'tls',
    client,
    ...(hello.alpn.length > 0 ? { next_protocol: [...hello.alpn] } : {}),
  };
  return { tls };
}

class TlsSession implements ProtocolSession {
  private readonly reader: ClientHelloReader;
  private held: Buffer[] = [];
  private relaying = false;
  private failed = false;

  constructor(private readonly ctx: SessionContext) {
    this.reader = new ClientHelloReader({
      maxHelloBytes: Math.min(
        DEFAULT_CLIENT_HELLO_LIMITS.maxHelloBytes,
        ctx.options.maxMessageBytes,
      ),
    });
  }

  onClientData(chunk: Buffer): void {
    if (this.relaying) {
      this.ctx.toUpstream(chunk);
      return;
    }
    if (this.failed) return;
    // Held until the record is made; copied because the gateway may reuse the chunk.
    this.held.push(Buffer.from(chunk));
    let hello: ClientHello | undefined;
    try {
      hello = this.reader.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.reject(err.detail);
      return;
    }
    if (hello === undefined) return;
    this.relaying = true;
    this.ctx.startupDone?.();
    const annotation = helloAnnotation(hello);
    this.ctx.annotate(annotation);
    // The record repeats the annotation: its own `tls` object would otherwise replace it.
    this.ctx.record({
      event: {
        action: 'tls-client-hello',
        category: ['network'],
        type: ['protocol'],
        outcome: 'success',
      },
      tls: {
        ...annotation.tls,
        client: {
          ...annotation.tls.client,
          supported_ciphers_count: hello.cipherSuites.length,
          supported_versions: hello.supportedVersions.map(versionName),
          ja3_string: ja3(hello).text,
        },
      },
    });
    const held = this.held;
    this.held = [];
    for (const piece of held) this.ctx.toUpstream(piece);
  }

  onServerData(chunk: Buffer): void {
    this.ctx.toClient(chunk);
  }

  onClose(): void {
    if (!this.relaying && !this.failed && this.reader.heldBytes > 0) {
      this.recordFailure('connection closed before the ClientHello was complete');
    }
  }

  private reject(detail: string): void {
    this.failed = true;
    this.held = [];
    this.recordFailure(detail);
    this.ctx.close('protocol-error', detail);
  }

  private recordFailure(reason: string): void {
    this.ctx.record({
      event: {
        action: 'tls-client-hello',
        category: ['network'],
        type: ['protocol'],
        outcome: 'failure',
        reason,
      },
    });
  }
}

/** The TLS (passthrough, ClientHello-reading) session factory. */
export const createTlsSession: SessionFactory = (ctx) => new TlsSession(ctx);
