import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CATALOGUE, PortwardenError } from '../../src/errors.js';

describe('error catalogue', () => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  const documented = new Set([...doc.matchAll(/^\| `(PW_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]));

  it('documents every code in docs/errors.md', () => {
    for (const code of Object.keys(ERROR_CATALOGUE)) expect(documented, code).toContain(code);
  });

  it('documents no code that is gone', () => {
    for (const code of documented) expect(Object.keys(ERROR_CATALOGUE)).toContain(code);
  });

  it('fills message templates and keeps the cause', () => {
    const cause = new Error('EADDRINUSE');
    const err = new PortwardenError(
      'PW_ERR_LISTEN',
      { listener: 'db', address: '127.0.0.1:5432', detail: 'EADDRINUSE' },
      { cause },
    );
    expect(err.message).toBe('listener db cannot listen on 127.0.0.1:5432: EADDRINUSE');
    expect(err.code).toBe('PW_ERR_LISTEN');
    expect(err.cause).toBe(cause);
    expect(err.exitCode).toBe(2);
  });
});
