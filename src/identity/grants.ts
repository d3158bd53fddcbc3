/**
 * Just-in-time grants. A grant is itself a record (`event.action: grant`, created or
 * revoked); the active set is derived from those records — at gateway start from the store,
 * then live from each commit. Policy sees an active grant as the group `grant:<listener>`.
 * Grants come from the CLI (`via: cli`, granted by the OS user) or the API (`via: api`,
 * granted by the admin token's name, which the record carries as `grant.api_token`).
 */
import type { JsonObject } from '../audit/event.js';
import type { EventInput } from '../audit/event.js';
import type { ActionFacts } from '../policy/index.js';

export interface Grant {
  readonly id: string;
  readonly identity: string;
  readonly listener: string;
  readonly expiresMs: number;
  readonly reason: string;
  /** Operation classes allowed (`read`, `write`, `ddl`…); empty: every operation. */
  readonly operations: readonly string[];
  readonly grantedBy: string;
  /** The name (never the value) of the API token that made the grant. */
  readonly apiToken?: string;
  /** Who the client said asked for it (self-reported, e.g. the OS user running the CLI). */
  readonly requestedBy?: string;
}

/** Operation classes a grant can be limited to. */
export const GRANT_OPERATIONS = ['read', 'write', 'ddl', 'dcl', 'tcl', 'other', 'unknown'] as const;

/** The longest grant (a longer one is almost certainly a typo, and dates must stay valid). */
export const MAX_GRANT_MS = 366 * 86_400_000;

export type GrantChange =
  | { readonly change: 'create'; readonly grant: Grant }
  | {
      readonly change: 'revoke';
      readonly id: string;
      readonly revokedBy: string;
      readonly reason: string;
      readonly apiToken?: string;
      readonly requestedBy?: string;
    };

/** The group policy's `grant: required` looks for. */
export function grantGroup(listener: string): string {
  return `grant:${listener}`;
}

/** The record of a grant change. `user.name` is who made it; `user.target.name` the grantee. */
export function grantRecord(change: GrantChange, via: string): EventInput {
  if (change.change === 'create') {
    const g = change.grant;
    return {
      event: {
        action: 'grant',
        category: ['iam'],
        type: ['creation', 'allowed'],
        outcome: 'success',
        reason: g.reason,
      },
      user: { name: g.grantedBy, target: { name: g.identity } },
      grant: {
        id: g.id,
        change: 'create',
        identity: g.identity,
        listener: g.listener,
        expires: new Date(g.expiresMs).toISOString(),
        operations: [...g.operations],
        reason: g.reason,
        granted_by: g.grantedBy,
        ...origin(g),
        via,
      },
    };
  }
  return {
    event: {
      action: 'grant',
      category: ['iam'],
      type: ['deletion'],
      outcome: 'success',
      reason: change.reason,
    },
    user: { name: change.revokedBy },
    grant: {
      id: change.id,
      change: 'revoke',
      revoked_by: change.revokedBy,
      ...origin(change),
      via,
    },
  };
}

function origin(o: { readonly apiToken?: string; readonly requestedBy?: string }): JsonObject {
  return {
    ...(o.apiToken === undefined ? {} : { api_token: o.apiToken }),
    ...(o.requestedBy === undefined ? {} : { requested_by: o.requestedBy }),
  };
}

/** Read a grant change back from a committed record body; null when it is not one. */
export function grantChangeOf(record: JsonObject): GrantChange | null {
  const g = record['grant'];
  if (g === null || typeof g !== 'object' || Array.isArray(g)) return null;
  const str = (k: string): string | undefined => (typeof g[k] === 'string' ? g[k] : undefined);
  const id = str('id');
  if (id === undefined) return null;
  const apiToken = str('api_token');
  const requestedBy = str('requested_by');
  const from = {
    ...(apiToken === undefined ? {} : { apiToken }),
    ...(requestedBy === undefined ? {} : { requestedBy }),
  };
  if (str('change') === 'revoke')
    return { change: 'revoke', id, revokedBy: str('revoked_by') ?? '', reason: '', ...from };
  const identity = str('identity');
  const listener = str('listener');
  const expires = Date.parse(str('expires') ?? '');
  if (identity === undefined || listener === undefined || Number.isNaN(expires)) return null;
  const ops = g['operations'];
  return {
    change: 'create',
    grant: {
      id,
      identity,
      listener,
      expiresMs: expires,
      reason: str('reason') ?? '',
      operations: Array.isArray(ops) ? ops.filter((o): o is string => typeof o === 'string') : [],
      grantedBy: str('granted_by') ?? '',
      ...from,
    },
  };
}

/** The operation class of an action, as grants name them. */
export function operationClass(action: ActionFacts): string {
  switch (action.protocol) {
    case 'postgres':
    case 'mysql':
      return action.sqlClass;
    case 'redis':
      if (action.categories.includes('write')) return 'write';
      return action.categories.includes('read') ? 'read' : 'other';
    case 'http':
      return ['GET', 'HEAD', 'OPTIONS'].includes(action.method.toUpperCase()) ? 'read' : 'write';
    default: {
      const never: never = action;
      return never;
    }
  }
}

/** The grants in force, by id. */
export class GrantBook {
  private readonly grants = new Map<string, Grant>();
  private readonly revoked = new Set<string>();

  apply(change: GrantChange): void {
    if (change.change === 'revoke') {
      this.revoked.add(change.id);
      this.grants.delete(change.id);
    } else if (!this.revoked.has(change.grant.id)) {
      this.grants.set(change.grant.id, change.grant);
    }
  }

  /** The active grant of `identity` on `listener` that allows `action` (any action if absent). */
  find(identity: string, listener: string, nowMs: number, action?: ActionFacts): Grant | undefined {
    const cls = action === undefined ? undefined : operationClass(action);
    for (const g of this.grants.values()) {
      if (g.identity !== identity || g.listener !== listener || g.expiresMs <= nowMs) continue;
      if (cls === undefined || g.operations.length === 0 || g.operations.includes(cls)) return g;
    }
    return undefined;
  }

  /** Grants not yet expired (or every grant known, with `all`). */
  list(nowMs: number, all = false): Grant[] {
    return [...this.grants.values()]
      .filter((g) => all || g.expiresMs > nowMs)
      .sort((a, b) => a.expiresMs - b.expiresMs);
  }

  get(id: string): Grant | undefined {
    return this.grants.get(id);
  }
}
