/**
 * The one filter model shared by the CLI, the API and the dashboard. Every field is
 * optional and AND-ed; pagination is keyset (`after` a sequence), never offsets.
 */
export interface EventFilter {
  readonly listener?: string;
  /** Any of these actions. */
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
  /**
   * Words of a statement / command / path, in this order (full-text index; case and
   * punctuation ignored). A trailing `*` makes the last word a prefix.
   */
  readonly text?: string;
  readonly connectionId?: string;
  /** Community ID of either leg: every record of the connections with that flow id. */
  readonly communityId?: string;
  /** `rule.id` of the policy decision. */
  readonly rule?: string;
  readonly policyVersion?: string;
  /** `db.namespace` (the database). */
  readonly db?: string;
  /** SQL operation, Redis command or HTTP method (`SELECT`, `GET`, `POST`); any case. */
  readonly operation?: string;
  /** Statement class (`read`, `write`, `ddl`, …). */
  readonly statementClass?: string;
  /** SQLSTATE, HTTP status or Redis error code. */
  readonly status?: string;
  /** Observer node id. */
  readonly node?: string;
  /** Keyset cursor: records strictly after (oldest-first) or before (newest-first) it. */
  readonly after?: number;
  readonly order?: 'newest' | 'oldest';
  readonly limit?: number;
}

export const MAX_PAGE = 10_000;
