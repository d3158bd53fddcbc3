/** Who is behind a connection: local client processes, signed-in identities, grants. */
export {
  findLocalClientProcess,
  type Endpoint,
  type LocalProcess,
  type LocalProcessOptions,
} from './local-process.js';
export {
  IdentityDirectory,
  tokenSha256,
  type AuthMethod,
  type Principal,
  type SignInResult,
} from './identities.js';
export { JwtVerifier, looksLikeJwt } from './jwt.js';
export { upstreamCredentials, type UpstreamCredentials } from './credentials.js';
export {
  GRANT_OPERATIONS,
  GrantBook,
  MAX_GRANT_MS,
  grantChangeOf,
  grantGroup,
  grantRecord,
  operationClass,
  type Grant,
  type GrantChange,
} from './grants.js';
export {
  grantRequestDir,
  pendingGrantRequests,
  writeGrantRequest,
  type GrantRequest,
} from './grant-inbox.js';
export { IdentityRuntime } from './runtime.js';
export { ConnectionIdentity, type GatewayAuthHooks } from './connection-identity.js';
export {
  clientTlsOf,
  rfc4514Subject,
  type ClientCertificate,
  type ClientTls,
} from './client-tls.js';
export type { CertificateSignIn, GatewayAuth } from './gateway-auth.js';
