/** Host inventory: TCP sockets from /proc and the processes that hold them. */
export {
  parseProcNetTcp,
  procEndpointHex,
  procHexToBytes,
  TCP_STATE,
  type ProcNetOptions,
  type ProcNetRow,
  type ProcNetTable,
  type SocketEndpoint,
  type TcpFamily,
  type TcpState,
} from './proc-net.js';
export {
  findSocketOwners,
  passwdNames,
  parsePasswd,
  type SocketOwner,
  type SocketOwnerOptions,
} from './socket-owners.js';
export { scanListeningSockets, type ListeningSocket, type ScanOptions } from './scan.js';
export {
  FINDING_KINDS,
  auditDrift,
  connects,
  formatEndpoint,
  type DriftFinding,
  type DriftInput,
  type FindingKind,
} from './drift.js';
export { findingRecord, recordFindings } from './findings.js';
export { ScheduledAudit, type AuditRun, type ScheduledAuditOptions } from './schedule.js';
export { cronProblem } from './cron.js';
