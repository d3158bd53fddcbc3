/**
 * The connection's own records: connection-open (allowed, or refused before the relay
 * started) and connection-close, and which of a session's records let bytes through.
 */
import type { CloseReason, EventInput, JsonObject } from '../audit/event.js';
import type { Decision } from '../policy/action.js';
import { tupleEndpoint } from './tuple-context.js';

/** Outcome records: they report what already passed and let nothing through. */
const OUTCOME_ACTIONS: ReadonlySet<string> = new Set([
  'db-result',
  'redis-reply',
  'http-response',
  'connection-close',
]);

/** The connection is open: the relay starts. */
export function openedEvent(decision: Decision): EventInput {
  return {
    event: {
      action: 'connection-open',
      category: ['network'],
      type: ['connection', 'start', 'allowed'],
      outcome: 'success',
      ...(decision.verdict === 'alert' ? { reason: decision.reason } : {}),
    },
    ...ruleFields(decision),
  };
}

/** Refused before the relay started: a connection-open with outcome failure. */
export function refusedEvent(
  reason: CloseReason,
  detail: string,
  startedNs: bigint,
  decision: Decision | undefined,
): EventInput {
  return {
    event: {
      action: 'connection-open',
      category: ['network'],
      type: ['connection', 'denied'],
      outcome: 'failure',
      reason,
      duration: Number(process.hrtime.bigint() - startedNs),
    },
    error: { message: detail },
    ...(decision ? ruleFields(decision) : {}),
  };
}

/** One leg's end of the tuple with the bytes it sent. */
export interface SideTotals {
  readonly ip: string;
  readonly port: number;
  readonly bytes: number;
}

/** The relay ended: a clean close (either side, or shutdown) succeeds, anything else fails. */
export function closedEvent(
  reason: CloseReason,
  detail: string | undefined,
  startedNs: bigint,
  source: SideTotals,
  destination: SideTotals,
): EventInput {
  return {
    event: {
      action: 'connection-close',
      category: ['network'],
      type: ['connection', 'end'],
      outcome:
        reason === 'client-close' || reason === 'server-close' || reason === 'shutdown'
          ? 'success'
          : 'failure',
      duration: Number(process.hrtime.bigint() - startedNs),
      reason,
    },
    ...(detail ? { error: { message: detail } } : {}),
    source: { ...tupleEndpoint(source.ip, source.port), bytes: source.bytes },
    destination: { ...tupleEndpoint(destination.ip, destination.port), bytes: destination.bytes },
  };
}

/** Whether a session's record lets bytes through (anything but an outcome or a denial). */
export function gates(input: EventInput): boolean {
  return !OUTCOME_ACTIONS.has(input.event.action) && !input.event.type.includes('denied');
}

function ruleFields(decision: Decision): JsonObject {
  const out: JsonObject = {};
  if (decision.ruleId) out.rule = { id: decision.ruleId };
  if (decision.policyVersion) out.policy = { version: decision.policyVersion };
  return out;
}
