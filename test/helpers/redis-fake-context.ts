/** The fake SessionContext as Redis session tests use it: listener cache, 1 MiB message limit. */
import { fakeSessionContext } from './fake-session-context.js';
import type { FakeSessionContext, FakeSessionOptions } from './fake-session-context.js';

export type { RecordedEvent } from './fake-session-context.js';
export type RedisFakeContext = FakeSessionContext;
export type RedisFakeOptions = Pick<
  FakeSessionOptions,
  'decide' | 'recordValues' | 'maxMessageBytes'
>;

export function redisFakeContext(options: RedisFakeOptions = {}): RedisFakeContext {
  return fakeSessionContext({ maxMessageBytes: 1024 * 1024, ...options, listener: 'cache' });
}
