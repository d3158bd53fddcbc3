/**
 * TLS passthrough: the gateway does not terminate TLS here; it reads the ClientHello (SNI,
 * ALPN, offered version, JA3) for the record and relays every byte untouched.
 */
export { createTlsSession, helloAnnotation } from './session.js';
export {
  ClientHelloReader,
  DEFAULT_CLIENT_HELLO_LIMITS,
  EXTENSION,
  isGrease,
  ja3,
  offeredVersion,
  parseClientHello,
  versionName,
} from './client-hello.js';
export type { ClientHello, ClientHelloLimits } from './client-hello.js';
