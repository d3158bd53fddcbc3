/**
 * What traffic the gateway lets through while the audit store refuses writes
 * (`audit.on_store_failure`, docs/operations.md "Store faults"), and the process log line at
 * each transition. One per gateway, shared by every listener.
 *
 * - `refuse` (default): new connections get their protocol's native refusal; in strict mode
 *   actions on open connections are refused natively too (the sessions' denial path), so a
 *   client learns at once instead of waiting. Bytes that are no action (a PostgreSQL Parse,
 *   a MySQL prepare or ping) may then pass without waiting for a commit, but only on a
 *   connection with an action protocol none of whose gating records is still uncommitted.
 * - `block`: new connections are refused (closed); actions on open connections are held
 *   (client paused) until the store commits again.
 * - `allow`: new connections are accepted; records wait in memory.
 */
import type { Logger } from 'pino';
import type { Recorder } from '../audit/recorder.js';

export type StoreFailureMode = 'refuse' | 'block' | 'allow';

const WHAT_HAPPENS: Readonly<Record<StoreFailureMode, string>> = {
  refuse:
    "new connections are refused with their protocol's native error and, in strict mode, so are actions on open connections (reason store-unavailable)",
  block:
    'new connections are refused (closed) and, in strict mode, actions on open connections are held until records are committed again',
  allow: 'traffic continues; records wait in memory until the store accepts them',
};

export class StoreGate {
  readonly mode: StoreFailureMode;
  private readonly recorder: Recorder;
  private readonly log: Logger;
  /** The highest sequence known committed (commits are in order); -1 before the first. */
  private committed = -1;

  constructor(recorder: Recorder, mode: StoreFailureMode, log: Logger) {
    this.recorder = recorder;
    this.mode = mode;
    this.log = log;
    recorder.onCommit((rows) => {
      const last = rows[rows.length - 1];
      if (last !== undefined) this.committed = last.sequence;
    });
    recorder.onHealth((healthy, detail) => this.onHealth(healthy, detail));
  }

  /** New connections are refused (natively in `refuse` mode, by a close in `block`). */
  refusesConnections(): boolean {
    return this.mode !== 'allow' && this.failing();
  }

  /** Actions on open connections are refused natively (strict mode, `refuse`). */
  refusesActions(): boolean {
    return this.mode === 'refuse' && this.recorder.mode === 'strict' && this.failing();
  }

  /**
   * Bytes of a connection whose last gating record has sequence `gatingSeq` may go to the
   * target without waiting for the records pending now: actions are being refused (so the
   * pending records gate nothing of this connection) and that gating record is committed.
   */
  passesWithoutCommit(gatingSeq: number): boolean {
    return (
      this.mode === 'refuse' &&
      this.recorder.mode === 'strict' &&
      !this.recorder.isHealthy() &&
      gatingSeq <= this.committed
    );
  }

  private failing(): boolean {
    return !this.recorder.isHealthy() || this.recorder.isFull();
  }

  private onHealth(healthy: boolean, detail: string): void {
    if (!healthy) {
      this.log.error(
        { err: detail, on_store_failure: this.mode, mode: this.recorder.mode },
        `AUDIT STORE UNAVAILABLE: ${WHAT_HAPPENS[this.mode]}, until the store accepts records again`,
      );
      return;
    }
    this.log.warn(
      { on_store_failure: this.mode, mode: this.recorder.mode },
      this.mode === 'allow'
        ? 'audit store accepts records again: pending records committed'
        : 'audit store accepts records again: pending records committed, new connections and actions are accepted again',
    );
  }
}
