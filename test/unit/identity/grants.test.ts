/** Grants: records round-trip, the book's active set (expiry, revoke, operations), request files. */
import { mkdtempSync, rmSync, chmodSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../../src/audit/event.js';
import {
  GrantBook,
  grantChangeOf,
  grantRecord,
  grantRequestDir,
  pendingGrantRequests,
  writeGrantRequest,
  type Grant,
} from '../../../src/identity/index.js';

const NOW = Date.parse('2026-01-01T00:00:00Z');
const grant: Grant = {
  id: 'g1',
  identity: 'alice',
  listener: 'orders-db',
  expiresMs: NOW + 3_600_000,
  reason: 'INC-1',
  operations: ['read'],
  grantedBy: 'ops (uid 0, cli)',
};
const select = {
  protocol: 'postgres',
  sqlClass: 'read',
  operation: 'SELECT',
  tables: [],
  text: 'select 1',
} as const;
const del = { ...select, sqlClass: 'write', operation: 'DELETE' } as const;

describe('grant records', () => {
  it('round-trip through the record body', () => {
    const rec = grantRecord({ change: 'create', grant }, 'cli') as unknown as JsonObject;
    expect(grantChangeOf(rec)).toEqual({ change: 'create', grant });
    const rev = grantRecord(
      { change: 'revoke', id: 'g1', revokedBy: 'ops', reason: 'done' },
      'cli',
    );
    expect(grantChangeOf(rev as unknown as JsonObject)).toMatchObject({
      change: 'revoke',
      id: 'g1',
    });
    expect(grantChangeOf({ event: { action: 'db-query' } })).toBeNull();
  });
});

describe('GrantBook', () => {
  it('finds a grant until it expires, only for its identity, listener and operations', () => {
    const book = new GrantBook();
    book.apply({ change: 'create', grant });
    expect(book.find('alice', 'orders-db', NOW)?.id).toBe('g1');
    expect(book.find('alice', 'orders-db', NOW, select)?.id).toBe('g1');
    expect(book.find('alice', 'orders-db', NOW, del)).toBeUndefined();
    expect(book.find('bob', 'orders-db', NOW)).toBeUndefined();
    expect(book.find('alice', 'cache', NOW)).toBeUndefined();
    expect(book.find('alice', 'orders-db', grant.expiresMs)).toBeUndefined();
    expect(book.list(grant.expiresMs)).toEqual([]);
    expect(book.list(grant.expiresMs, true)).toHaveLength(1);
  });

  it('a revoke wins, even when replayed before the create', () => {
    const book = new GrantBook();
    book.apply({ change: 'revoke', id: 'g1', revokedBy: 'ops', reason: '' });
    book.apply({ change: 'create', grant });
    expect(book.find('alice', 'orders-db', NOW)).toBeUndefined();
  });
});

describe('grant requests', () => {
  it('are written 0600 and read back; files writable by others are refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pw-gr-'));
    try {
      writeGrantRequest(dir, { change: 'revoke', id: 'g1', revoked_by: 'ops', reason: 'done' });
      const [taken] = pendingGrantRequests(dir);
      expect(taken?.request).toEqual({
        change: 'revoke',
        id: 'g1',
        revoked_by: 'ops',
        reason: 'done',
      });
      const name = readdirSync(grantRequestDir(dir))[0] ?? '';
      chmodSync(join(grantRequestDir(dir), name), 0o666);
      expect(pendingGrantRequests(dir)[0]?.request).toBeNull();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
