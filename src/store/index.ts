export { SqliteStore } from './sqlite-store.js';
export { BodyArena, bodyText } from './body-arena.js';
export type { BodyBytes } from './body-arena.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export { GROUP_KEYS } from './types.js';
export type {
  Store,
  EventRow,
  CheckpointRow,
  BackgroundLanding,
  LeafBatch,
  LeafRow,
  Page,
  GroupKey,
  ConnectionAt,
} from './types.js';
export type { RecordColumns } from './event-row.js';
export type { EventFilter } from './filter.js';
export { MAX_PAGE } from './filter.js';
export { summarize } from './summary.js';
export type { Summary } from './summary.js';
export { deriveColumns, deriveColumnsInto } from './derive.js';
export { textMatches } from './text-query.js';
export type { DerivedColumns } from './derive.js';
export { openStore } from './open.js';
export type { OpenStoreOptions, StoreLocation } from './open.js';
export {
  PostgresStore,
  isPostgresUrl,
  parseStoreUrl,
  storeUrlProblem,
  applyMigrations,
  createDayPartitions,
  dayOf,
  dayPartitionName,
  timestamptzDay,
} from './pg/index.js';
export type { Migration, PostgresStoreOptions } from './pg/index.js';
