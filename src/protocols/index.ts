export { sessionFactoryFor, registerProtocol, initProtocols, ECS_PROTOCOL } from './registry.js';
export type {
  SessionFactory,
  SessionContext,
  ProtocolSession,
  SessionOptions,
  SessionIdentity,
} from './session.js';
