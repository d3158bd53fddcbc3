// C2SP tlog-checkpoint body: origin, decimal size, base64 root, extension lines
// (/work/shared/reference/vectors.md "C2SP signed-note and tlog-checkpoint").
import { describe, expect, it } from 'vitest';
import {
  formatCheckpoint,
  makeSignedCheckpoint,
  openCheckpoint,
  parseCheckpoint,
  parseSignerKey,
  signNote,
  signerFromSeed,
  verifierOf,
} from '../../../src/audit/integrity.js';

const ROOT8 = Buffer.from(
  '5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328',
  'hex',
);
const ROOT8_B64 = ROOT8.toString('base64');
const key = signerFromSeed('node-a', Buffer.alloc(32, 7));
const vkey = verifierOf(key).verifierKey;
const SKEY = 'PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz';

describe('checkpoint body (tlog-checkpoint)', () => {
  it('formats origin, size and root, then extension lines', () => {
    const text = formatCheckpoint({
      origin: 'node-a',
      size: 8,
      root: ROOT8,
      extensions: ['time 1700000000'],
    });
    expect(text).toBe(`node-a\n8\n${ROOT8_B64}\ntime 1700000000\n`);
    expect(parseCheckpoint(text)).toEqual({
      ok: true,
      origin: 'node-a',
      size: 8,
      root: ROOT8,
      extensions: ['time 1700000000'],
    });
  });

  it.each([
    ['no final newline', `node-a\n8\n${ROOT8_B64}`],
    ['an empty origin', `\n8\n${ROOT8_B64}\n`],
    ['a leading zero', `node-a\n08\n${ROOT8_B64}\n`],
    ['a sign', `node-a\n+8\n${ROOT8_B64}\n`],
    ['a size past 2^53', `node-a\n9007199254740993\n${ROOT8_B64}\n`],
    ['a short root', `node-a\n8\n${ROOT8.subarray(1).toString('base64')}\n`],
    ['an unpadded root', `node-a\n8\n${ROOT8_B64.replace(/=+$/, '')}\n`],
    ['no root', `node-a\n8\n`],
    ['an empty extension line', `node-a\n8\n${ROOT8_B64}\n\n`],
  ])('refuses a body with %s', (_what, text) => {
    expect(parseCheckpoint(text).ok).toBe(false);
  });

  it('refuses to format a body that would not parse', () => {
    expect(() => formatCheckpoint({ origin: 'a', size: -1, root: ROOT8, extensions: [] })).toThrow(
      /checkpoint/,
    );
    expect(() => formatCheckpoint({ origin: 'a', size: 1, root: ROOT8, extensions: [''] })).toThrow(
      /extension/,
    );
  });
});

describe('signed checkpoints', () => {
  it('signs and opens, naming the key', () => {
    const note = makeSignedCheckpoint({
      origin: 'node-a',
      size: 8,
      root: ROOT8,
      key,
      extensions: ['x'],
    });
    expect(note.startsWith(`node-a\n8\n${ROOT8_B64}\nx\n\n\u2014 node-a `)).toBe(true);
    const opened = openCheckpoint(note, [vkey], 'node-a');
    expect(opened).toMatchObject({
      ok: true,
      origin: 'node-a',
      size: 8,
      extensions: ['x'],
      keyName: 'node-a',
      keyId: key.keyId,
    });
    expect(opened.ok && opened.root.equals(ROOT8)).toBe(true);
  });

  it('prefers the key named after the origin when several verify', () => {
    const other = parseSignerKey(SKEY);
    const body = formatCheckpoint({ origin: 'node-a', size: 8, root: ROOT8, extensions: [] });
    const note = signNote(body, [other, key]);
    expect(openCheckpoint(note, [verifierOf(other), vkey])).toMatchObject({
      ok: true,
      keyName: 'node-a',
    });
  });

  it('refuses the wrong origin, an unknown key, a changed size, a malformed body', () => {
    const note = makeSignedCheckpoint({ origin: 'node-a', size: 8, root: ROOT8, key });
    expect(openCheckpoint(note, [vkey], 'node-b')).toMatchObject({
      ok: false,
      reason: 'wrong-origin',
    });
    expect(openCheckpoint(note, [verifierOf(parseSignerKey(SKEY))])).toMatchObject({
      ok: false,
      reason: 'unknown-key',
    });
    expect(openCheckpoint(note.replace('\n8\n', '\n9\n'), [vkey])).toMatchObject({
      ok: false,
      reason: 'bad-signature',
    });
    const bad = signNote('node-a\nseven\nxx\n', key);
    expect(openCheckpoint(bad, [vkey])).toMatchObject({ ok: false, reason: 'malformed' });
  });
});
