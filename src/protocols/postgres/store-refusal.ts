/**
 * A new PostgreSQL connection while the audit store is unavailable: the gateway answers the
 * start-up itself, as a server that cannot take connections now does — SSLRequest with `N`
 * (or `S` and TLS when the listener terminates it), GSSENCRequest with `N`, then the
 * StartupMessage with ErrorResponse FATAL 57P03 (cannot_connect_now). A CancelRequest gets
 * no answer (a server never answers one). Nothing reaches the target.
 */
import { ProtocolError } from '../../errors.js';
import type { ConnectionRefusal, RefusalContext } from '../session.js';
import { decodeStartup } from './frontend-parser.js';
import { HandshakeReader } from './handshake.js';
import { ENCRYPTION_REFUSED, errorResponse, SqlState, SSL_ACCEPT } from './serializer.js';

export const STORE_UNAVAILABLE_MESSAGE =
  'portwarden: the audit store is unavailable, so new connections are refused until it can record them; retry later';

class PostgresStoreRefusal implements ConnectionRefusal {
  /** Only untyped start-up packets are read: each at most 10000 bytes. */
  private readonly reader = new HandshakeReader(true, 10_000, 'client');
  private tls = false;
  private finished = false;

  constructor(private readonly ctx: RefusalContext) {}

  start(): void {
    // The client speaks first.
  }

  onClientData(chunk: Buffer): void {
    if (this.finished) return;
    try {
      this.reader.push(chunk);
      for (let f = this.reader.next(); f !== null && !this.finished; f = this.reader.next())
        this.onPacket(f.body);
    } catch (err) {
      if (!(err instanceof ProtocolError)) throw err;
      this.finish();
    }
  }

  private onPacket(body: Buffer): void {
    const msg = decodeStartup(body);
    switch (msg.type) {
      case 'SSLRequest':
        if (this.ctx.startClientTls === undefined || this.tls) {
          this.ctx.toClient(ENCRYPTION_REFUSED);
          return;
        }
        // Bytes sent in clear after SSLRequest would be taken as inside TLS (CVE-2021-23214).
        if (this.reader.takeRest().length > 0) {
          this.finish();
          return;
        }
        this.tls = true;
        this.ctx.toClient(SSL_ACCEPT);
        this.ctx.startClientTls();
        return;
      case 'GSSENCRequest':
        this.ctx.toClient(ENCRYPTION_REFUSED);
        return;
      case 'CancelRequest':
        this.finish();
        return;
      case 'StartupMessage':
        this.ctx.toClient(
          errorResponse('FATAL', SqlState.CannotConnectNow, STORE_UNAVAILABLE_MESSAGE),
        );
        this.finish();
        return;
      default:
        this.finish();
    }
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.ctx.done();
  }
}

export const refusePostgresConnection = (ctx: RefusalContext): ConnectionRefusal =>
  new PostgresStoreRefusal(ctx);
