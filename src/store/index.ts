export { SqliteStore } from './sqlite-store.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export type { Store, EventRow, CheckpointRow, Page, GroupKey } from './types.js';
export type { EventFilter } from './filter.js';
export { MAX_PAGE } from './filter.js';
