/**
 * The only bytes the Redis session writes itself: error replies (denials, refusals while the
 * audit store is unavailable, EXECABORT and protocol errors), and the DISCARD that replaces a
 * doomed EXEC. Everything else is forwarded as it came.
 */

/** Keeps client-supplied text from breaking the error line: no CR, LF or control bytes. */
function safeLine(text: string): string {
  return text.replace(/\p{Cc}/gu, '?');
}

/** `-NOPERM …` — the error Redis' own ACL answers with (acl.c addACLLogEntry / NOPERM). */
export function serializeDenial(command: string, ruleId: string | undefined): Buffer {
  const rule = ruleId === undefined ? 'default' : `rule ${ruleId}`;
  return Buffer.from(
    `-NOPERM this user has no permissions to run the '${safeLine(command)}' command (portwarden policy, ${safeLine(rule)})\r\n`,
    'utf8',
  );
}

/** `-ERR audit store unavailable …`: the command was not recorded and not run; retry later. */
export function serializeStoreRefusal(command: string): Buffer {
  return Buffer.from(
    `-ERR audit store unavailable: portwarden could not record '${safeLine(command)}', so it was not run; retry later\r\n`,
    'utf8',
  );
}

/** EXEC refused for the store: the transaction was discarded (DISCARD went upstream). */
export function serializeStoreExecAbort(): Buffer {
  return Buffer.from(
    '-EXECABORT Transaction discarded: the audit store is unavailable, so portwarden could not record it; retry later\r\n',
    'utf8',
  );
}

/** `-ERR audit store unavailable …` to the first command of a connection refused at accept. */
export const STORE_REFUSED_CONNECTION: Buffer = Buffer.from(
  '-ERR audit store unavailable: portwarden refuses new connections until it can record them; retry later\r\n',
  'utf8',
);

/** `-ERR Protocol error: …` — what Redis answers to malformed input before it closes. */
export function serializeProtocolError(detail: string): Buffer {
  return Buffer.from(`-ERR Protocol error: ${safeLine(detail)}\r\n`, 'utf8');
}

/** What Redis answers EXEC with after a queue-time error (multi.c execCommand). */
export function serializeExecAbort(): Buffer {
  return Buffer.from('-EXECABORT Transaction discarded because of previous errors.\r\n');
}

/** DISCARD as a RESP array: sent upstream in place of a doomed transaction's EXEC. */
export const DISCARD_COMMAND: Buffer = Buffer.from('*1\r\n$7\r\nDISCARD\r\n');
