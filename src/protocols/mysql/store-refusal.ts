/**
 * MySQL answers while the audit store is unavailable. A new connection gets an ERR packet in
 * place of the server greeting, as a server refusing a connection before the handshake
 * sends it (ER_CON_COUNT_ERROR 1040, SQLSTATE 08004 "server rejected the connection"); a
 * statement on an open connection gets ERR 1021 (ER_DISK_FULL, SQLSTATE HY000): it was not
 * run and may be retried. Nothing of a refused connection reaches the target.
 */
import type { ConnectionRefusal, RefusalContext } from '../session.js';
import { greetingErrPacket } from './serializer.js';

/** ER_CON_COUNT_ERROR: what a client sees when a server refuses it before the greeting. */
export const CONNECTION_REFUSED_ERRNO = 1040;
/** ER_DISK_FULL: the statement was refused because nothing can be recorded now. */
export const STATEMENT_REFUSED_ERRNO = 1021;
export const STATEMENT_REFUSED_SQLSTATE = 'HY000';

export const STATEMENT_REFUSED_MESSAGE =
  'portwarden: the audit store is unavailable, so this statement was not recorded and not run; retry later';
const CONNECTION_REFUSED_MESSAGE =
  'portwarden: the audit store is unavailable, so new connections are refused until it can record them; retry later';

class MysqlStoreRefusal implements ConnectionRefusal {
  constructor(private readonly ctx: RefusalContext) {}

  /** The server speaks first: the ERR goes out at once, whatever the client sends. */
  start(): void {
    this.ctx.toClient(greetingErrPacket(CONNECTION_REFUSED_ERRNO, CONNECTION_REFUSED_MESSAGE));
    this.ctx.done();
  }

  onClientData(): void {
    // Nothing the client sends changes the answer.
  }
}

export const refuseMysqlConnection = (ctx: RefusalContext): ConnectionRefusal =>
  new MysqlStoreRefusal(ctx);
