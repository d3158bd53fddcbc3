/**
 * What a `db-login` record says beyond the identity: what the client told about itself in
 * its HandshakeResponse (auth plugin, connection attributes), and the server's ERR.
 */
import type { ClientMessage, ServerMessage } from './messages.js';
import type { LoginFacts } from './records.js';

/** The client's own description, from the HandshakeResponse. */
export interface ClientLogin {
  readonly plugin?: string;
  readonly application?: string;
  readonly clientName?: string;
  readonly clientVersion?: string;
}

/** The auth plugin and the `program_name`, `_client_name`, `_client_version` attributes. */
export function clientLogin(
  message: Extract<ClientMessage, { type: 'handshake-response' }>,
): ClientLogin {
  const attributes = message.attributes;
  return {
    ...(message.authPlugin !== undefined ? { plugin: message.authPlugin } : {}),
    ...(attributes['program_name'] !== undefined
      ? { application: attributes['program_name'] }
      : {}),
    ...(attributes['_client_name'] !== undefined ? { clientName: attributes['_client_name'] } : {}),
    ...(attributes['_client_version'] !== undefined
      ? { clientVersion: attributes['_client_version'] }
      : {}),
  };
}

/** The login facts but the outcome. */
export function loginFacts(login: ClientLogin, changeUser: boolean): Omit<LoginFacts, 'outcome'> {
  return {
    changeUser,
    ...(login.plugin !== undefined ? { authPlugin: login.plugin } : {}),
    ...(login.application !== undefined ? { application: login.application } : {}),
    ...(login.clientName !== undefined ? { clientName: login.clientName } : {}),
    ...(login.clientVersion !== undefined ? { clientVersion: login.clientVersion } : {}),
  };
}

/** A failed login: the server's ERR packet. */
export function errorFacts(message: Extract<ServerMessage, { type: 'error' }>): {
  outcome: 'failure';
  sqlState: string;
  errorNumber: number;
  message: string;
} {
  return {
    outcome: 'failure',
    sqlState: message.sqlState,
    errorNumber: message.errorNumber,
    message: message.message,
  };
}
