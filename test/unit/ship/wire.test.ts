/** Shipped message framing, the node frontier kept in PostgreSQL, and the durable cursor. */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Frontier, leafHash } from '../../../src/audit/integrity.js';
import { restoreFrontier, serializeFrontier } from '../../../src/ship/chain.js';
import { CURSOR_FILE, readCursor, writeCursor } from '../../../src/ship/cursor.js';
import {
  checkpointsSubject,
  decodeMessage,
  encodeCheckpoint,
  encodeRecord,
  recordsSubject,
} from '../../../src/ship/wire.js';

const body = '{"event":{"action":"redis-command","sequence":7},"text":"line\\nbreak"}';

describe('wire', () => {
  it('round-trips a record, a pruned record and a checkpoint', () => {
    const leaf = leafHash(body);
    const rec = {
      node: 'gw-1',
      sequence: 7,
      timestampNs: 1_700_000_000_123_456_789n,
      leafHash: leaf,
      body,
      note: null,
    };
    expect(decodeMessage(encodeRecord(rec))).toEqual({ kind: 'record', ...rec });
    const pruned = { ...rec, body: null, note: 'cp note\n' };
    expect(decodeMessage(encodeRecord(pruned))).toEqual({ kind: 'record', ...pruned });
    const cp = { node: 'gw-1', size: 8, note: 'gw-1\n8\nAAAA\n\n\u2014 gw-1 sig\n' };
    expect(decodeMessage(encodeCheckpoint(cp))).toEqual({ kind: 'checkpoint', ...cp });
  });

  it('names what is wrong with a malformed message instead of throwing', () => {
    const enc = (s: string): Uint8Array => Buffer.from(s);
    expect(decodeMessage(enc('no newline'))).toBe('no header line');
    expect(decodeMessage(enc('{bad\n'))).toBe('header is not JSON');
    expect(decodeMessage(enc('{"v":2,"node":"a"}\n'))).toBe('unknown wire version 2');
    expect(decodeMessage(enc('{"v":1,"k":"r","node":"a","seq":-1}\n'))).toBe('bad sequence');
    expect(
      decodeMessage(enc('{"v":1,"k":"r","node":"a","seq":1,"ts":"1","leaf":"AA=="}\n{}')),
    ).toBe('leaf hash is not 32 bytes');
    for (let i = 0; i < 200; i++) {
      const junk = Buffer.from(Array.from({ length: 40 }, () => Math.floor(Math.random() * 256)));
      expect(typeof decodeMessage(junk)).toBe('string');
    }
  });

  it('keeps one subject token per node even when the node name has a dot', () => {
    expect(recordsSubject('portwarden', 'gw.eu-1')).toBe('portwarden.gw_eu-1.records');
    expect(checkpointsSubject('pw.prod', 'a')).toBe('pw.prod.a.checkpoints');
  });
});

describe('frontier in node_state', () => {
  it('restores to the same root at every size up to 70', () => {
    const f = new Frontier();
    for (let i = 0; i < 70; i++) {
      const restored = restoreFrontier(f.size, serializeFrontier(f));
      expect(restored.root().equals(f.root())).toBe(true);
      f.append(leafHash(`r${i}`));
      restored.append(leafHash(`r${i}`));
      expect(restored.root().equals(f.root())).toBe(true);
    }
  });

  it('refuses a stored frontier too short for its size', () => {
    expect(() => restoreFrontier(3, Buffer.alloc(32))).toThrow(/too short/);
  });
});

describe('cursor', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pw-cursor-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('starts at -1, persists, and refuses another node or a broken file', () => {
    expect(readCursor(dir, 'gw-1')).toBe(-1);
    writeCursor(dir, 'gw-1', 41);
    expect(readCursor(dir, 'gw-1')).toBe(41);
    expect(() => readCursor(dir, 'gw-2')).toThrow(/belongs to node gw-1/);
    writeFileSync(join(dir, CURSOR_FILE), 'garbage');
    expect(() => readCursor(dir, 'gw-1')).toThrow(/not JSON/);
  });
});
