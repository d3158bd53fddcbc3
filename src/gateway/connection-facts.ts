/**
 * What the connection knows about its client, for policy (the facts) and for the records
 * (the session and user fields of its record context), as the session learns the identity.
 */
import type { JsonObject } from '../audit/event.js';
import type { RecordContext } from '../audit/recorder.js';
import type { ConnectionIdentity } from '../identity/index.js';
import type { ConnectionFacts } from '../policy/action.js';
import type { SessionIdentity } from '../protocols/session.js';
import type { Endpoint } from './tuple-context.js';

/** Facts policy knows about a connection so far. */
export function connectionFacts(
  listener: string,
  source: Endpoint,
  identity: SessionIdentity,
  processFacts: { process?: ConnectionFacts['process'] } | undefined,
): ConnectionFacts {
  return {
    listener,
    sourceIp: source.ip,
    sourcePort: source.port,
    ...(identity.user !== undefined ? { user: identity.user } : {}),
    ...(identity.database !== undefined ? { database: identity.database } : {}),
    ...(identity.application !== undefined ? { application: identity.application } : {}),
    ...(identity.tlsSubject !== undefined ? { tlsSubject: identity.tlsSubject } : {}),
    ...processFacts,
  };
}

/**
 * The record context with the session's identity: `session.*`, and `user` — a gateway
 * sign-in names the person; the target-side user stays in the protocol's db.user.
 */
export function contextWithIdentity(
  ctx: RecordContext,
  identity: SessionIdentity,
  signedIn: ConnectionIdentity | null,
): RecordContext {
  const session: JsonObject = {};
  if (identity.database !== undefined) session.database = identity.database;
  if (identity.application !== undefined) session.application = identity.application;
  if (identity.tlsSubject !== undefined) session.tls_subject = identity.tlsSubject;
  const fields: JsonObject = { ...ctx.fields, session };
  const signedInFields = signedIn?.userFields();
  if (signedInFields) fields.user = signedInFields;
  else if (identity.user !== undefined) fields.user = { name: identity.user };
  const user = signedIn?.principal?.name ?? identity.user ?? ctx.user;
  return { ...ctx, fields, user };
}
