export { PostgresStore } from './postgres-store.js';
export type { PostgresStoreOptions } from './postgres-store.js';
export { isPostgresUrl, parseStoreUrl, storeUrlProblem, DEFAULT_SCHEMA } from './url.js';
export type { PgStoreUrl } from './url.js';
export {
  DAY_MS,
  applyMigrations,
  createDayPartitions,
  dayOf,
  dayPartitionName,
  nanosecondDay,
  schemaVersion,
  timestamptzDay,
} from './ddl.js';
export type { Migration } from './ddl.js';
export { SyncBridge, serveBridge, bridgeData, bridgeWorkerScript } from './sync-bridge.js';
export { searchWords, lexeme, wordsColumn, pgText } from './row.js';
export {
  Params,
  anyPort,
  equalities,
  equality,
  joinWhere,
  textBranches,
  textClause,
} from './query.js';
