/**
 * The two records of every Redis action (DESIGN §4, §6): `redis-command` when it is seen,
 * `redis-reply` with its outcome. Secrets and values follow the rules in redact.ts.
 */
import type { EventInput, JsonObject } from '../../audit/event.js';
import type { Decision } from '../../policy/action.js';
import type { ResolvedCommand } from './commands.js';
import type { CommandKeys } from './keys.js';
import type { CommandHead, Reply } from './messages.js';
import { recordableValues, SECRET_COMMANDS } from './redact.js';

/** Most keys one record lists (`redis.keys`); `redis.keys_count` says how many there were. */
export const RECORDED_KEYS = 64;
/** Most values one record carries when the listener records values. */
export const MAX_VALUES = 64;

/**
 * The `redis-command` record: name, first key, every key (up to RECORDED_KEYS) when there
 * are several, argument count (after the name), ACL categories, the decision; values only
 * when the listener records them and never secrets.
 */
export function commandRecord(
  resolved: ResolvedCommand,
  head: CommandHead,
  keys: CommandKeys,
  decision: Decision,
  recordValues: boolean,
): EventInput {
  const command = resolved.name;
  const allowed = decision.verdict !== 'deny';
  const secret = SECRET_COMMANDS.has(command);
  const redis: JsonObject = {
    command,
    args_count: head.argc - 1,
    acl_categories: [...resolved.categories],
  };
  const first = keys.keys[0];
  if (!secret && first !== undefined) redis['key'] = first.toString('utf8');
  if (!secret && keys.count > 1) {
    redis['keys'] = keys.keys.slice(0, RECORDED_KEYS).map((k) => k.toString('utf8'));
    redis['keys_count'] = keys.count;
  }
  if (!keys.complete) redis['keys_truncated'] = true;
  if (recordValues && !secret) {
    const leading = head.args.slice(0, MAX_VALUES + 1);
    redis['values'] = recordableValues(command, leading);
    if (leading.length < head.argc) redis['values_truncated'] = true;
  }
  return {
    event: {
      action: 'redis-command',
      kind: decision.verdict === 'alert' ? 'alert' : 'event',
      category: ['database'],
      type: ['access', allowed ? 'allowed' : 'denied'],
      ...(allowed ? {} : { outcome: 'failure' as const }),
      reason: decision.reason,
    },
    redis,
    ...(decision.ruleId === undefined ? {} : { rule: { id: decision.ruleId } }),
    ...(decision.policyVersion === undefined
      ? {}
      : { policy: { version: decision.policyVersion } }),
  };
}

/** The `redis-reply` record: reply type, error code and message, outcome, duration in ns. */
export function replyRecord(
  command: string,
  commandId: string,
  reply: Reply | undefined,
  outcome: 'success' | 'failure' | 'unknown',
  duration: number,
  reason?: string,
): EventInput {
  const replyFields: JsonObject = {};
  if (reply !== undefined) {
    replyFields['type'] = reply.type;
    if (reply.type === 'error' || reply.type === 'bulk-error') {
      const text = reply.text ?? '';
      const space = text.indexOf(' ');
      replyFields['error'] = { code: space > 0 ? text.slice(0, space) : text, message: text };
    } else if (reply.count > 0) replyFields['count'] = reply.count;
  }
  return {
    event: {
      action: 'redis-reply',
      category: ['database'],
      type: ['access'],
      outcome,
      reference: commandId,
      duration,
      ...(reason === undefined ? {} : { reason }),
    },
    redis: { command, reply: replyFields },
  };
}
