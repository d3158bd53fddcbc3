/** PostgreSQL protocol: parsers, statement classification, redaction and the session. */
export { createPostgresSession } from './session.js';
export { createPostgresListenerSession } from './gateway-auth.js';
export { formatScramVerifier, scramVerifierFor } from './scram.js';
export { initPostgresClassifier, classifySql } from './classify.js';
export type { ClassifiedStatement } from './classify.js';
export { redactSql } from './redact.js';
export { FrontendParser } from './frontend-parser.js';
export type { FrontendHandler } from './frontend-parser.js';
export { BackendParser } from './backend-parser.js';
export type { BackendHandler } from './backend-parser.js';
export type {
  BackendMessage,
  ErrorFields,
  FrontendMessage,
  TransactionStatus,
} from './messages.js';
export { refusePostgresConnection } from './store-refusal.js';
