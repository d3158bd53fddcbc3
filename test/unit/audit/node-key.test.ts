import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  symlinkSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  NODE_KEY_FILE,
  loadOrCreateNodeKey,
  makeSignedCheckpoint,
  openCheckpoint,
} from '../../../src/audit/integrity.js';

let dir = '';
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'pw-node-key-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('loadOrCreateNodeKey', () => {
  it('creates node.key with mode 0600 and no temporary file left', () => {
    const key = loadOrCreateNodeKey(join(dir, 'data'), 'node-a');
    const path = join(dir, 'data', NODE_KEY_FILE);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readdirSync(join(dir, 'data'))).toEqual([NODE_KEY_FILE]);
    expect(readFileSync(path, 'utf8')).toMatch(
      /^PRIVATE\+KEY\+node-a\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*\n$/,
    );
    expect(key.verifierKey).toMatch(new RegExp(`^node-a\\+${key.keyId}\\+`));
    expect(key.publicKeyRaw.length).toBe(32);
  });

  it('loads the same key the second time', () => {
    const first = loadOrCreateNodeKey(dir, 'node-a');
    const second = loadOrCreateNodeKey(dir, 'node-a');
    expect(second.verifierKey).toBe(first.verifierKey);
    const note = makeSignedCheckpoint({
      origin: 'node-a',
      size: 0,
      root: Buffer.alloc(32),
      key: second.signer,
    });
    expect(openCheckpoint(note, [first.verifierKey])).toMatchObject({
      ok: true,
      keyId: first.keyId,
    });
  });

  it.each([0o644, 0o640, 0o604, 0o660])('refuses a key file with mode %o', (mode) => {
    loadOrCreateNodeKey(dir, 'node-a');
    chmodSync(join(dir, NODE_KEY_FILE), mode);
    expect(() => loadOrCreateNodeKey(dir, 'node-a')).toThrow(
      expect.objectContaining({ code: 'PW_ERR_KEY' }),
    );
    expect(() => loadOrCreateNodeKey(dir, 'node-a')).toThrow(/chmod 600/);
  });

  it('refuses a key made for another node name', () => {
    loadOrCreateNodeKey(dir, 'node-a');
    expect(() => loadOrCreateNodeKey(dir, 'node-b')).toThrow(/key of node node-a, not node-b/);
  });

  it('refuses a corrupt key file without echoing its contents', () => {
    const path = join(dir, NODE_KEY_FILE);
    writeFileSync(
      path,
      'PRIVATE+KEY+node-a+00000000+c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlYw==\n',
      { mode: 0o600 },
    );
    let message = '';
    try {
      loadOrCreateNodeKey(dir, 'node-a');
    } catch (err) {
      expect(err).toEqual(expect.objectContaining({ code: 'PW_ERR_KEY' }));
      message = err instanceof Error ? err.message : '';
    }
    expect(message).toMatch(/node key problem/);
    expect(message).not.toContain('c2VjcmV0');
  });

  it('refuses a directory or a symbolic link in place of the key', () => {
    mkdirSync(join(dir, 'a', NODE_KEY_FILE), { recursive: true });
    expect(() => loadOrCreateNodeKey(join(dir, 'a'), 'node-a')).toThrow(/not a regular file/);
    loadOrCreateNodeKey(join(dir, 'real'), 'node-a');
    mkdirSync(join(dir, 'b'));
    symlinkSync(join(dir, 'real', NODE_KEY_FILE), join(dir, 'b', NODE_KEY_FILE));
    expect(() => loadOrCreateNodeKey(join(dir, 'b'), 'node-a')).toThrow(
      expect.objectContaining({ code: 'PW_ERR_KEY' }),
    );
  });
});
