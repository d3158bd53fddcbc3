/**
 * The ERR packets the session writes itself: a statement policy denied (or refused while the
 * audit store is unavailable), COM_CHANGE_USER behind `auth: gateway`, and a protocol
 * violation.
 */
import type { EventInput } from '../../audit/event.js';
import type { Decision } from '../../policy/action.js';
import { isStoreRefusal } from '../session.js';
import type { DbIdentity } from './records.js';
import { loginRecord } from './records.js';
import { errPacket } from './serializer.js';
import {
  STATEMENT_REFUSED_ERRNO,
  STATEMENT_REFUSED_MESSAGE,
  STATEMENT_REFUSED_SQLSTATE,
} from './store-refusal.js';

/** ER_TABLEACCESS_DENIED_ERROR: what MySQL itself answers when a privilege is missing. */
const DENIED_ERRNO = 1142;
const DENIED_SQLSTATE = '42000';
/** ER_UNKNOWN_COM_ERROR with SQLSTATE 08S01 (communication link failure). */
const PROTOCOL_ERRNO = 1047;
const PROTOCOL_SQLSTATE = '08S01';
/** ER_ACCESS_DENIED_ERROR. */
const ACCESS_DENIED_ERRNO = 1045;
const ACCESS_DENIED_SQLSTATE = '28000';

/** An ERR answer, as recorded on the action's `db-result` and sent to the client. */
export interface ErrAnswer {
  readonly errorNumber: number;
  readonly sqlState: string;
  readonly message: string;
}

/** The answer to a denied statement: ERR 1142, or the store-unavailable ERR. */
export function deniedAnswer(denying: Decision, operation: string): ErrAnswer {
  return isStoreRefusal(denying)
    ? {
        errorNumber: STATEMENT_REFUSED_ERRNO,
        sqlState: STATEMENT_REFUSED_SQLSTATE,
        message: STATEMENT_REFUSED_MESSAGE,
      }
    : {
        errorNumber: DENIED_ERRNO,
        sqlState: DENIED_SQLSTATE,
        message: `${operation} command denied by portwarden policy (rule ${denying.ruleId ?? 'default'})`,
      };
}

/** The ERR packet of an answer, in reply to the client packet `seq`. */
export function answerPacket(seq: number, answer: ErrAnswer): Buffer {
  return errPacket(seq + 1, answer.errorNumber, answer.sqlState, answer.message);
}

/** Why COM_CHANGE_USER is refused behind `auth: gateway`. */
export const CHANGE_USER_REFUSED = 'COM_CHANGE_USER is refused behind auth: gateway';

/** The failed `db-login` of a refused COM_CHANGE_USER (ERR 1045, 28000). */
export function changeUserRefusedRecord(user: string, current: DbIdentity): EventInput {
  const reason = CHANGE_USER_REFUSED;
  return loginRecord(
    { user, ...(current.namespace !== undefined ? { namespace: current.namespace } : {}) },
    {
      changeUser: true,
      outcome: 'failure',
      sqlState: ACCESS_DENIED_SQLSTATE,
      errorNumber: ACCESS_DENIED_ERRNO,
      message: reason,
      reason,
    },
  );
}

/** The ERR 1045 sent for a refused COM_CHANGE_USER packet `seq`. */
export function changeUserRefusedPacket(seq: number): Buffer {
  return errPacket(
    seq + 1,
    ACCESS_DENIED_ERRNO,
    ACCESS_DENIED_SQLSTATE,
    `portwarden: ${CHANGE_USER_REFUSED}`,
  );
}

/** A protocol violation: ERR 1047 (08S01) with sequence id `seq`. */
export function protocolErrorPacket(seq: number, detail: string): Buffer {
  return errPacket(seq, PROTOCOL_ERRNO, PROTOCOL_SQLSTATE, `portwarden: ${detail}`);
}
