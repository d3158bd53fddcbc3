/** The HTTP API, live tail, metrics and dashboard server (docs/api.md, docs/dashboard.md). */
export { createApiServer, startApi, type ApiOptions, type ApiServer } from './server.js';
export {
  TokenAuthority,
  isLoopbackHost,
  sha256Hex,
  ROLES,
  type Role,
  type Principal,
} from './auth.js';
export { parseFilterQuery, FILTER_PARAMS } from './filters.js';
export { matchesFilter } from './match.js';
export { verifyStore, type VerifyReport } from './verify.js';
export type { InclusionProof, ProofAnswer } from './proofs.js';
export {
  createCentralApiServer,
  type CentralApiOptions,
  type CentralApiServer,
} from './central/server.js';
export type { CentralSource } from './central/source.js';
