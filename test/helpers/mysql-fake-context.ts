/** The fake SessionContext as MySQL session tests use it: listener mysql-test, a loopback client. */
import {
  type LoopbackFakeContext,
  type LoopbackFakeOptions,
  loopbackFakeContext,
} from './fake-session-context.js';

export type FakeContext = LoopbackFakeContext;
export type FakeOptions = LoopbackFakeOptions;

export function fakeContext(options: FakeOptions = {}): FakeContext {
  return loopbackFakeContext('mysql-test', options);
}
