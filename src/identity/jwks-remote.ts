/**
 * A key set fetched from an issuer (`jwks_url`, or discovery from `issuer`), cached.
 *
 * - Fresh for the response's `Cache-Control: max-age` (10 minutes without one), bounded to
 *   [`jwks_min_interval`, 24 h]. An expired set is refetched when a token needs it.
 * - A token signed with a key the set does not have (a new `kid` after rotation) refetches
 *   at once, unless a fetch ran less than `jwks_min_interval` ago: random `kid`s cannot make
 *   portwarden hammer the issuer.
 * - When a refetch fails (issuer unreachable, bad answer) the keys last fetched stay in use,
 *   with a warning log, for up to 24 h after they expired; after that, and before any fetch
 *   succeeded, JWT sign-ins are refused (`jwt keys unavailable`).
 * - Concurrent sign-ins share one fetch.
 */
import type { Logger } from 'pino';
import { createLocalJWKSet } from 'jose';
import { errorMessage } from '../errors.js';
import { fetchJwks, type JwksLocation } from './jwks-fetch.js';

export type KeyLookup = ReturnType<typeof createLocalJWKSet>;

export const DEFAULT_TTL_MS = 10 * 60_000;
export const MAX_TTL_MS = 24 * 3_600_000;
export const MAX_STALE_MS = 24 * 3_600_000;
export const FETCH_TIMEOUT_MS = 5_000;

export interface RemoteJwksOptions extends JwksLocation {
  /** Least time between two fetches (and least cache lifetime). */
  readonly minIntervalMs: number;
  readonly timeoutMs?: number;
  readonly log: Logger;
  readonly now?: () => number;
}

interface Cached {
  readonly lookup: KeyLookup;
  readonly kids: string;
  readonly expiresMs: number;
}

export class RemoteJwks {
  private readonly opts: RemoteJwksOptions;
  private readonly now: () => number;
  private readonly closing = new AbortController();
  private cached: Cached | null = null;
  private lastAttemptMs = Number.NEGATIVE_INFINITY;
  private inflight: Promise<void> | null = null;

  constructor(opts: RemoteJwksOptions) {
    this.opts = opts;
    this.now = opts.now ?? Date.now;
  }

  /** Where the keys come from, for log lines. */
  get source(): string {
    return this.opts.url ?? `${this.opts.issuer ?? ''} (discovery)`;
  }

  /** Keys to verify with now, or null when none can be had. */
  async keys(): Promise<KeyLookup | null> {
    const c = this.cached;
    if (c !== null && this.now() < c.expiresMs) return c.lookup;
    if (this.mayFetch()) await this.refresh();
    const after = this.cached;
    if (after === null || this.now() >= after.expiresMs + MAX_STALE_MS) return null;
    return after.lookup;
  }

  /**
   * A token named a key the set lacks: refetch unless one ran within the least interval.
   * True when the set changed (verify again), false otherwise.
   */
  async unknownKey(): Promise<boolean> {
    if (!this.mayFetch()) return false;
    const before = this.cached?.kids;
    await this.refresh();
    return this.cached !== null && this.cached.kids !== before;
  }

  /** Fetch in the background (gateway start), so the first sign-in does not wait. */
  prefetch(): void {
    if (this.mayFetch()) void this.refresh();
  }

  close(): void {
    this.closing.abort();
  }

  private mayFetch(): boolean {
    return this.inflight !== null || this.now() - this.lastAttemptMs >= this.opts.minIntervalMs;
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.fetchOnce().finally(() => {
      this.inflight = null;
    });
    return this.inflight;
  }

  private async fetchOnce(): Promise<void> {
    this.lastAttemptMs = this.now();
    const { log } = this.opts;
    try {
      const got = await fetchJwks(
        this.opts,
        this.opts.timeoutMs ?? FETCH_TIMEOUT_MS,
        this.closing.signal,
      );
      const lookup = createLocalJWKSet(got.jwks);
      const ttl =
        got.maxAgeSec === null
          ? DEFAULT_TTL_MS
          : Math.min(Math.max(got.maxAgeSec * 1000, this.opts.minIntervalMs), MAX_TTL_MS);
      const kids = got.jwks.keys.map((k) => k.kid ?? '').join(',');
      if (kids !== this.cached?.kids)
        log.info({ jwks: got.url, keys: got.jwks.keys.length, kids }, 'jwks: key set loaded');
      this.cached = { lookup, kids, expiresMs: this.now() + Math.max(ttl, 1000) };
    } catch (err) {
      if (this.closing.signal.aborted) return;
      const c = this.cached;
      if (c === null)
        log.warn(
          { jwks: this.source, err: errorMessage(err) },
          'jwks: cannot fetch the key set; JWT sign-ins are refused until a fetch succeeds',
        );
      else
        log.warn(
          {
            jwks: this.source,
            err: errorMessage(err),
            stale_until: new Date(c.expiresMs + MAX_STALE_MS).toISOString(),
          },
          'jwks: refresh failed; using the cached keys',
        );
    }
  }
}
