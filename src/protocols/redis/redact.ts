/**
 * Which argument values may enter a record when a listener records values. Secrets never
 * do: AUTH and HELLO carry passwords anywhere; MIGRATE after AUTH/AUTH2; ACL SETUSER rules
 * (`>password`, `#hash`); CONFIG SET of any *auth* / *pass* parameter. Redis redacts the same
 * arguments from SLOWLOG and MONITOR (redactClientCommandArgument).
 */

/** Shown in place of a secret value. */
export const REDACTED = '(redacted)';

/** Commands whose every argument may be a secret: their values are never recorded. */
export const SECRET_COMMANDS: ReadonlySet<string> = new Set(['auth', 'hello']);

/** The values (arguments after the name) as they may be recorded, secrets replaced. */
export function recordableValues(command: string, args: readonly Buffer[]): string[] {
  const values = args.slice(1).map((a) => a.toString('utf8'));
  if (SECRET_COMMANDS.has(command)) return values.map(() => REDACTED);
  if (command === 'acl|setuser') return values.map((v, i) => (i <= 1 ? v : REDACTED));
  if (command === 'config|set') {
    // Parameter/value pairs after the subcommand.
    return values.map((v, i) =>
      i >= 2 && i % 2 === 0 && /auth|pass/i.test(values[i - 1] ?? '') ? REDACTED : v,
    );
  }
  if (command === 'migrate') {
    const out = [...values];
    for (let i = 0; i < out.length; i++) {
      const word = (out[i] ?? '').toLowerCase();
      if (word === 'auth' && i + 1 < out.length) out[i + 1] = REDACTED;
      if (word === 'auth2' && i + 2 < out.length) out[i + 2] = REDACTED;
    }
    return out;
  }
  return values;
}
