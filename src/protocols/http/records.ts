/** The two records of one HTTP exchange — DESIGN §4/§6: `http-request` and `http-response`. */
import type { EventInput, EventOutcome, JsonObject } from '../../audit/event.js';
import type { Decision } from '../../policy/action.js';
import type { RequestHead } from './messages.js';
import type { RequestFacts } from './request-facts.js';

/** `http-request`: what was asked and what policy said; never a credential value. */
export function requestRecord(
  head: RequestHead,
  facts: RequestFacts,
  decision: Decision,
): EventInput {
  const denied = decision.verdict === 'deny';
  const request: JsonObject = { method: head.method };
  if (facts.authScheme !== undefined) request['auth_scheme'] = facts.authScheme;
  if (facts.cookiePresent) request['cookie_present'] = true;
  const url: JsonObject = { path: facts.path };
  if (facts.rawPath !== facts.path) url['original_path'] = facts.rawPath;
  if (facts.query !== undefined) url['query'] = facts.query;
  if (facts.domain !== undefined) url['domain'] = facts.domain;
  if (facts.port !== undefined) url['port'] = facts.port;
  const record: Record<string, JsonObject> = { http: { version: head.version, request }, url };
  if (facts.userAgent !== undefined) record['user_agent'] = { original: facts.userAgent };
  // The gateway verified neither a Basic password nor a JWT signature: a claim, not an identity.
  if (facts.user !== undefined) record['user'] = { name: facts.user, claimed: true };
  if (decision.ruleId !== undefined) record['rule'] = { id: decision.ruleId };
  if (decision.policyVersion !== undefined) record['policy'] = { version: decision.policyVersion };
  return {
    event: {
      action: 'http-request',
      ...(decision.verdict === 'alert' ? { kind: 'alert' as const } : {}),
      category: ['web'],
      type: ['access', denied ? 'denied' : 'allowed'],
      outcome: denied ? 'failure' : 'success',
      reason: decision.reason,
    },
    ...record,
  };
}

/** What is known of one exchange when its outcome is recorded. */
export interface ExchangeOutcome {
  readonly requestId: string;
  readonly status?: number;
  readonly requestBodyBytes: number;
  readonly responseBodyBytes: number;
  readonly durationNs: bigint;
  /** Set when the exchange did not complete normally. */
  readonly problem?: string;
  readonly outcome?: EventOutcome;
}

/**
 * `http-response`: status, bytes each way, duration. Outcome is failure for status ≥ 400
 * (denials included: the client did not get what it asked for) and success below.
 */
export function responseRecord(o: ExchangeOutcome): EventInput {
  const outcome: EventOutcome =
    o.outcome ?? (o.status === undefined ? 'unknown' : o.status >= 400 ? 'failure' : 'success');
  const response: JsonObject = { body: { bytes: o.responseBodyBytes } };
  if (o.status !== undefined) response['status_code'] = o.status;
  return {
    event: {
      action: 'http-response',
      category: ['web'],
      type: ['access'],
      outcome,
      duration: Number(o.durationNs),
      reference: o.requestId,
      ...(o.problem === undefined ? {} : { reason: o.problem }),
    },
    http: { request: { body: { bytes: o.requestBodyBytes } }, response },
  };
}
