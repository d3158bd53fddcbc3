/** `portwarden identity scram-verifier`: the credentials it prints let the token sign in. */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { tokenCredentials } from '../../../src/cli/commands/identity.js';
import { identitySchema } from '../../../src/config/schema.js';
import { tokenSha256 } from '../../../src/identity/index.js';
import {
  parseScramVerifier,
  ScramClient,
  ScramServer,
} from '../../../src/protocols/postgres/scram.js';

describe('identity scram-verifier', () => {
  it('prints config-valid token and scram_sha256 credentials that verify the token', () => {
    const token = 'tok-abcdef0123456789';
    const credentials = parse(tokenCredentials(token, 4096)) as unknown;
    const checked = identitySchema.safeParse({ name: 'alice', credentials });
    expect(checked.success).toBe(true);
    if (!checked.success) return;
    const [hash, scram] = checked.data.credentials;
    expect(hash).toEqual({ type: 'token', sha256: tokenSha256(token) });
    if (scram?.type !== 'scram_sha256') throw new Error('no scram credential');
    const verifier = parseScramVerifier(scram.verifier);
    if (verifier === null) throw new Error('unparsable verifier');
    expect(verifier.iterations).toBe(4096);

    for (const [password, ok] of [
      [token, true],
      ['tok-wrong', false],
    ] as const) {
      const server = new ScramServer(verifier);
      const client = new ScramClient(password);
      const first = server.firstMessage(client.firstMessage());
      if (!first.ok) throw new Error(first.reason);
      const final = client.finalMessage(first.message);
      if (!final.ok) throw new Error(final.reason);
      expect(server.finalMessage(final.message).ok).toBe(ok);
    }
  });
});
