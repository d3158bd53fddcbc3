/** Scale-out (DESIGN §8): JetStream shipping, the collector and the central PostgreSQL store. */
export { Publisher } from './publisher.js';
export type { PublisherStats } from './publisher.js';
export { Collector, COLLECTOR_DEFAULTS, defaultCollectorName, keysByNode } from './collector.js';
export type { CollectorOptions, CollectorStats } from './collector.js';
export { CentralStore } from './pg-store.js';
export type { CentralPage, NodeSummary } from './pg-store.js';
export type { Finding } from './central-tx.js';
export type { CentralFilter } from './central-query.js';
export { decodeCursor, encodeCursor, MAX_CENTRAL_PAGE } from './central-query.js';
export type { CentralRow } from './central-row.js';
export { verifyCentralNode } from './central-verify.js';
export { SHIP_DEFAULTS } from './stream.js';
export type { ShipOptions } from './stream.js';
export { CURSOR_FILE, readCursor } from './cursor.js';
export { MIGRATIONS, SCHEMA_VERSION } from './pg-schema.js';
export { startPublisher } from './start.js';
export { CentralReader, CENTRAL_GROUP_KEYS } from './central-read.js';
export type {
  CentralBucket,
  CentralCheckpoint,
  CentralGroupKey,
  CentralWho,
} from './central-read.js';
