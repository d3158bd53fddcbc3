/** MySQL / MariaDB: the session the gateway runs, and the pieces other modules and tests use. */
export { createMysqlSession } from './session.js';
export { createMysqlListenerSession } from './gateway-auth.js';
export { MysqlClientParser } from './client-parser.js';
export type { ClientPhase } from './client-parser.js';
export { MysqlServerParser } from './server-parser.js';
export type { Negotiated } from './server-parser.js';
export { classifyStatement, classifyTokens } from './classify.js';
export type { Classification } from './classify.js';
export { splitStatements } from './split.js';
export type { Statement } from './split.js';
export { redactSql, REDACTED } from './redact.js';
export { errPacket } from './serializer.js';
export { nativePasswordHash, nativeProofMatches } from './scramble.js';
export {
  Capability,
  Command,
  ResponseHeader,
  ServerStatus,
  MariadbCapability,
} from './messages.js';
export type { ClientMessage, ServerMessage, ExpectedResponse, ParserSink } from './messages.js';
export { refuseMysqlConnection } from './store-refusal.js';
