/** The fake SessionContext as MySQL session tests use it: listener mysql-test, a loopback client. */
import type { EventInput } from '../../src/audit/event.js';
import { fakeSessionContext } from './fake-session-context.js';
import type { FakeSessionContext, FakeSessionOptions } from './fake-session-context.js';

export interface FakeContext extends Omit<FakeSessionContext, 'actions'> {
  /** Records of one action, in order, as the session handed them over (no id). */
  actions(action: string): EventInput[];
}
export type FakeOptions = Omit<FakeSessionOptions, 'listener' | 'sourceIp' | 'sourcePort'>;

export function fakeContext(options: FakeOptions = {}): FakeContext {
  const ctx = fakeSessionContext({
    ...options,
    listener: 'mysql-test',
    sourceIp: '127.0.0.1',
    sourcePort: 50000,
  });
  return Object.assign(ctx, { actions: (action: string) => ctx.inputs(action) });
}
