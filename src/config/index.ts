export { loadConfig, parseConfigText, formatIssues, formatPath } from './load.js';
export type { ConfigIssue, LoadedConfig } from './load.js';
export { configSchema, listenerSchema, PROTOCOLS } from './schema.js';
export type {
  Config,
  ListenerConfig,
  AuditConfig,
  IdentityConfig,
  IdentityCredentialConfig,
} from './schema.js';
export { parseHostPort, formatHostPort, parseDurationMs } from './address.js';
export type { HostPort } from './address.js';
