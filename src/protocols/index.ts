export {
  sessionFactoryFor,
  registerProtocol,
  initProtocols,
  ECS_PROTOCOL,
  storeRefusalFor,
  hasActions,
} from './registry.js';
export { isStoreRefusal, storeRefusal, STORE_UNAVAILABLE } from './session.js';
export type {
  SessionFactory,
  SessionContext,
  ProtocolSession,
  SessionOptions,
  SessionIdentity,
  ConnectionRefusal,
  ConnectionRefusalFactory,
  RefusalContext,
} from './session.js';
