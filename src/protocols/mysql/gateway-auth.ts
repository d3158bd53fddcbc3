/**
 * MySQL / MariaDB behind listener `auth: gateway`. The gateway sign-in for MySQL is not
 * built yet (docs/identity.md), so such a listener fails closed: instead of relaying the
 * client's own login — which would let a client in without a portwarden identity — every
 * connection is answered with an ERR packet in place of the server greeting (as a server
 * refusing a connection does), recorded as a failed db-login, and closed.
 */
import type { ProtocolSession, SessionContext } from '../session.js';
import { errPacket } from './serializer.js';
import { createMysqlSession } from './session.js';

/** ER_NOT_SUPPORTED_AUTH_MODE — "Client does not support authentication protocol…". */
const NOT_SUPPORTED_AUTH_MODE = 1251;
const REASON = 'auth: gateway is not available for MySQL listeners yet';

class MysqlGatewayAuthRefusal implements ProtocolSession {
  constructor(ctx: SessionContext) {
    ctx.record({
      event: {
        action: 'db-login',
        category: ['authentication', 'database'],
        type: ['start', 'denied'],
        outcome: 'failure',
        reason: REASON,
      },
      db: {
        system: 'mysql',
        response: { status_code: '08004', error_number: NOT_SUPPORTED_AUTH_MODE },
      },
    });
    ctx.toClient(errPacket(0, NOT_SUPPORTED_AUTH_MODE, '08004', `portwarden: ${REASON}`));
    ctx.close('policy', REASON);
  }

  onClientData(): void {}

  onServerData(): void {}
}

/** MySQL session for a listener; `auth: gateway` listeners refuse (see above). */
export function createMysqlListenerSession(ctx: SessionContext): ProtocolSession {
  return ctx.gatewayAuth ? new MysqlGatewayAuthRefusal(ctx) : createMysqlSession(ctx);
}
