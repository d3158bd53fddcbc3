/**
 * The only bytes the Redis session writes itself: error replies (denials and protocol
 * errors). Everything else is forwarded as it came.
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

/** `-ERR Protocol error: …` — what Redis answers to malformed input before it closes. */
export function serializeProtocolError(detail: string): Buffer {
  return Buffer.from(`-ERR Protocol error: ${safeLine(detail)}\r\n`, 'utf8');
}
