/**
 * The one filter model shared by the CLI, the API and the dashboard. Every field is
 * optional and AND-ed; pagination is keyset (`after` a sequence), never offsets.
 */
export interface EventFilter {
  readonly listener?: string;
  readonly actions?: readonly string[];
  readonly sourceIp?: string;
  readonly sourcePort?: number;
  readonly upstreamLocalIp?: string;
  readonly upstreamLocalPort?: number;
  /** Any endpoint port of either leg. */
  readonly port?: number;
  readonly user?: string;
  readonly outcome?: string;
  readonly sinceNs?: bigint;
  readonly untilNs?: bigint;
  /** Statement / command / path contains (case-insensitive). */
  readonly text?: string;
  readonly connectionId?: string;
  readonly communityId?: string;
  /** Keyset cursor: records strictly after (oldest-first) or before (newest-first) it. */
  readonly after?: number;
  readonly order?: 'newest' | 'oldest';
  readonly limit?: number;
}

export const MAX_PAGE = 10_000;
