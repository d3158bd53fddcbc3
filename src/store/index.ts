export { SqliteStore } from './sqlite-store.js';
export type { SqliteStoreOptions } from './sqlite-store.js';
export { GROUP_KEYS } from './types.js';
export type { Store, EventRow, CheckpointRow, Page, GroupKey, ConnectionAt } from './types.js';
export type { EventFilter } from './filter.js';
export { MAX_PAGE } from './filter.js';
export { summarize } from './summary.js';
export type { Summary } from './summary.js';
