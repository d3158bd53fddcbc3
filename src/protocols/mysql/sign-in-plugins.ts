/**
 * Which authentication plugin the gateway runs with a MySQL/MariaDB client signing in to it
 * (listener `auth: gateway`, docs/identity.md), as a pure decision per client packet:
 *
 * - `caching_sha2_password` over client TLS: the client's scramble is answered "perform full
 *   authentication" (AuthMoreData 0x04), so the client sends its token in clear inside TLS,
 *   checked against the token's SHA-256. (The fast path would need SHA256(SHA256(token)) —
 *   derivable from the stored SHA-256, which would make that hash a password; so never.)
 * - `mysql_native_password` with an identity's `mysql_native_password` hash: the scramble is
 *   checked as the server checks it; works on any leg (the token never crosses the wire).
 * - `mysql_clear_password` on loopback (or TLS), as before.
 *
 * A plain leg off loopback gets only mysql_native_password; without a stored hash that
 * fails after the client's answer, the same way for known and unknown names.
 */
export const NATIVE = 'mysql_native_password';
export const CACHING_SHA2 = 'caching_sha2_password';
export const CLEAR_PASSWORD = 'mysql_clear_password';

/** caching_sha2_password AuthMoreData: perform full authentication / the client asks for the RSA key. */
export const PERFORM_FULL_AUTHENTICATION = 4;
const REQUEST_PUBLIC_KEY = 2;

export const NO_NATIVE_HASH =
  'no mysql_native_password credential, and the token in clear needs client TLS or loopback';
export const CLEAR_NEEDS_TLS = 'mysql_clear_password needs client TLS or loopback';
export const RSA_REFUSED =
  'caching_sha2_password RSA key exchange is not supported: connect with TLS';

/** What the gateway waits for after it asked the client something. */
export type Expect = 'clear' | 'native' | 'sha2-scramble' | 'sha2-clear';

export interface Leg {
  readonly tls: boolean;
  readonly loopback: boolean;
  /** The identity named has a mysql_native_password hash. */
  readonly nativeHash: boolean;
}

export type SignInStep =
  | { readonly do: 'verify-token'; readonly token: string; readonly plugin: string }
  | { readonly do: 'verify-native'; readonly proof: Buffer }
  | {
      readonly do: 'switch';
      readonly plugin: string;
      readonly expect: Expect;
    }
  | { readonly do: 'full-auth' }
  | { readonly do: 'refuse'; readonly reason: string; readonly plugin: string };

/** The client's HandshakeResponse41 named `plugin` and carried `response`. */
export function firstStep(plugin: string | undefined, response: Buffer, leg: Leg): SignInStep {
  if (plugin === CLEAR_PASSWORD) {
    return leg.tls || leg.loopback
      ? { do: 'verify-token', token: tokenOf(response), plugin }
      : { do: 'refuse', reason: CLEAR_NEEDS_TLS, plugin };
  }
  // A scramble of the greeting's nonce is 20 bytes. A client whose plugin is not the one the
  // greeting named sends none (the nonce was "for another plugin") and waits for a switch.
  if (
    plugin === NATIVE &&
    response.length === 20 &&
    (leg.nativeHash || (!leg.tls && !leg.loopback))
  )
    return { do: 'verify-native', proof: response };
  if (plugin === CACHING_SHA2 && leg.tls) return sha2Scramble(response);
  return switchStep(leg);
}

/** The client answered what the gateway asked (`expect`) with `payload`. */
export function nextStep(expect: Expect, payload: Buffer): SignInStep {
  switch (expect) {
    case 'clear':
      return { do: 'verify-token', token: tokenOf(payload), plugin: CLEAR_PASSWORD };
    case 'native':
      return { do: 'verify-native', proof: payload };
    case 'sha2-scramble':
      return sha2Scramble(payload);
    case 'sha2-clear':
      if (payload.length === 1 && payload[0] === REQUEST_PUBLIC_KEY)
        return { do: 'refuse', reason: RSA_REFUSED, plugin: CACHING_SHA2 };
      return { do: 'verify-token', token: tokenOf(payload), plugin: CACHING_SHA2 };
    default: {
      const never: never = expect;
      return never;
    }
  }
}

/** The plugin the gateway switches a client to when its first answer will not do. */
function switchStep(leg: Leg): SignInStep {
  if (leg.tls) return { do: 'switch', plugin: CACHING_SHA2, expect: 'sha2-scramble' };
  if (leg.nativeHash || !leg.loopback) return { do: 'switch', plugin: NATIVE, expect: 'native' };
  return { do: 'switch', plugin: CLEAR_PASSWORD, expect: 'clear' };
}

/** A caching_sha2_password scramble over TLS: ask for the token itself (full authentication). */
function sha2Scramble(response: Buffer): SignInStep {
  if (response.length === 0)
    return { do: 'refuse', reason: 'empty credential', plugin: CACHING_SHA2 };
  return { do: 'full-auth' };
}

/** mysql_clear_password and caching_sha2_password's full authentication send the token NUL-terminated. */
export function tokenOf(response: Buffer): string {
  const end = response[response.length - 1] === 0 ? response.length - 1 : response.length;
  return response.toString('utf8', 0, end);
}
