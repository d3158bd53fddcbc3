/**
 * The slow-client deadlines of one connection, checked by the gateway's sweep
 * (docs/operations.md, "Slow clients"):
 *
 * - start-up: a `postgres`, `mysql`, `http` or `tls` client must finish its start-up (login
 *   answered, first request head, ClientHello) within `handshake_timeout` of the connection
 *   being opened to the target: reason `handshake-timeout`;
 * - HTTP request head: a head partly read for `header_timeout`: reason `header-timeout`;
 * - progress: `idle_timeout` counts time without progress. Any byte from the target is
 *   progress; client bytes are counted over windows of one second (or the first sweep after
 *   it) and are progress when at least `min_rate` bytes per second arrived in the window.
 *   Fewer are a trickle and reset nothing: reaching `idle_timeout` after a trickle ends the
 *   connection with `slow-client`, after silence with `timeout`.
 *
 * The relay path only counts bytes (the connection's totals); all clock work is here, once
 * per sweep.
 */
import type { CloseReason } from '../audit/event.js';
import type { ListenerConfig } from '../config/index.js';

/** Protocols whose session reports the end of a start-up (`SessionContext.startupDone`). */
export const STARTUP_PROTOCOLS: ReadonlySet<string> = new Set(['postgres', 'mysql', 'http', 'tls']);

/** Client bytes are weighed against `min_rate` over windows of this length. */
const RATE_WINDOW_MS = 1000;

export type DeadlineLimits = Pick<
  ListenerConfig,
  'idle_timeout' | 'handshake_timeout' | 'header_timeout' | 'min_rate'
>;

/** Why a connection must end now. */
export interface Overdue {
  readonly reason: CloseReason;
  readonly detail: string;
}

export class Deadlines {
  /** When the relay started (the start-up clock runs from here); null before. */
  private openedMs: number | null = null;
  private startupPending: boolean;
  private headSinceMs: number | null = null;
  private lastProgressMs: number;
  /** The client-rate window: since when, and how many client bytes so far. */
  private windowStartMs: number;
  private windowBytes = 0;
  private clientSeen = 0;
  private serverSeen = 0;
  /** Client bytes arrived since the last progress, too few to count as progress. */
  private trickled = false;

  constructor(nowMs: number, hasStartup: boolean) {
    this.lastProgressMs = nowMs;
    this.windowStartMs = nowMs;
    this.startupPending = hasStartup;
  }

  /** The connection to the target is open and the client's bytes are read from now on. */
  opened(nowMs: number): void {
    this.openedMs = nowMs;
  }

  /** The protocol's start-up is done: `handshake_timeout` no longer applies. */
  startupDone(): void {
    this.startupPending = false;
  }

  /** HTTP: a request head is partly read (from its first byte) or not. */
  readingHead(partial: boolean, nowMs: number): void {
    if (!partial) this.headSinceMs = null;
    else this.headSinceMs ??= nowMs;
  }

  /** Time since the last progress, as of the last sweep. */
  idleFor(nowMs: number): number {
    return nowMs - this.lastProgressMs;
  }

  /**
   * One sweep: account the bytes moved since the previous one (the connection's running
   * totals), then say whether a deadline passed.
   */
  check(
    nowMs: number,
    clientBytes: number,
    serverBytes: number,
    limits: DeadlineLimits,
  ): Overdue | null {
    this.account(nowMs, clientBytes - this.clientSeen, serverBytes - this.serverSeen, limits);
    this.clientSeen = clientBytes;
    this.serverSeen = serverBytes;
    if (
      this.startupPending &&
      this.openedMs !== null &&
      nowMs - this.openedMs > limits.handshake_timeout
    ) {
      return {
        reason: 'handshake-timeout',
        detail: `start-up not finished within ${limits.handshake_timeout} ms`,
      };
    }
    if (this.headSinceMs !== null && nowMs - this.headSinceMs > limits.header_timeout) {
      return {
        reason: 'header-timeout',
        detail: `request head not complete within ${limits.header_timeout} ms`,
      };
    }
    if (nowMs - this.lastProgressMs > limits.idle_timeout) {
      return this.trickled
        ? {
            reason: 'slow-client',
            detail: `client sent under ${limits.min_rate} bytes/s for more than ${limits.idle_timeout} ms`,
          }
        : { reason: 'timeout', detail: `idle for more than ${limits.idle_timeout} ms` };
    }
    return null;
  }

  private account(nowMs: number, client: number, server: number, limits: DeadlineLimits): void {
    if (server > 0) {
      this.progress(nowMs);
      return;
    }
    this.windowBytes += client;
    const span = nowMs - this.windowStartMs;
    if (span < RATE_WINDOW_MS) return;
    if (this.windowBytes > 0) {
      if (this.windowBytes * 1000 >= limits.min_rate * span) this.progress(nowMs);
      else this.trickled = true;
    }
    this.windowStartMs = nowMs;
    this.windowBytes = 0;
  }

  private progress(nowMs: number): void {
    this.lastProgressMs = nowMs;
    this.trickled = false;
    this.windowStartMs = nowMs;
    this.windowBytes = 0;
  }
}
