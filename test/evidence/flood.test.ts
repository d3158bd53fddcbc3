/**
 * Floods and slow clients, reduced for CI (test/soak/flood.test.ts runs them bigger): a
 * connection flood past the per-source limit is refused and recorded with reason `limit`
 * while a client from another address is served; a silent client is cut by idle_timeout;
 * a client that never reads stops the target (backpressure) with bounded gateway memory;
 * 1,000 idle connections cost bounded memory and do not starve a well-behaved client.
 */
import { describe } from 'vitest';
import { floodCases } from './flood-cases.js';

describe('floods and slow clients', () => {
  floodCases({ idle: 1000, flood: 80, perSource: 50, streamBytes: 256 * 1024 * 1024 });
});
