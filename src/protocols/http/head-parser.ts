/**
 * Parses one complete HTTP/1.1 head (start line, field lines, empty line) — RFC 9112 §2–§5.
 * Strict on purpose: CRLF only (no bare LF or CR), no obs-fold, no whitespace before the
 * colon, token-only names and methods, no control characters in values. Every one of these
 * is a way two parsers can disagree about where a message ends (request smuggling).
 */
import { HttpProtocolError } from './messages.js';
import type { HttpHeader, HttpVersion } from './messages.js';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

/** tchar — RFC 9110 §5.6.2. */
const TOKEN = new Uint8Array(256);
for (const c of "!#$%&'*+-.^_`|~") TOKEN[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TOKEN[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TOKEN[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TOKEN[c] = 1;

/** field-vchar / SP / HTAB / obs-text — RFC 9110 §5.5. */
const FIELD_VALUE = new Uint8Array(256);
FIELD_VALUE[HTAB] = 1;
for (let c = 0x20; c <= 0x7e; c++) FIELD_VALUE[c] = 1;
for (let c = 0x80; c <= 0xff; c++) FIELD_VALUE[c] = 1;

/** Bounds on one head; exceeding them is 414 (request line) or 431 (fields). */
export interface HeadLimits {
  readonly maxHeadBytes: number;
  readonly maxStartLineBytes: number;
  readonly maxHeaders: number;
}

export const DEFAULT_HEAD_LIMITS: HeadLimits = {
  maxHeadBytes: 16 * 1024,
  maxStartLineBytes: 8 * 1024,
  maxHeaders: 100,
};

/** True when `name` is a valid field name (token). */
export function isToken(name: string): boolean {
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) if (TOKEN[name.charCodeAt(i) & 0xff] !== 1) return false;
  return true;
}

/** End of the line starting at `start` (index of its CR); rejects bare CR/LF. */
function lineEnd(raw: Buffer, start: number): number {
  const lf = raw.indexOf(LF, start);
  if (lf < 0 || lf === start || raw[lf - 1] !== CR)
    throw new HttpProtocolError('line not ended by CRLF');
  const cr = raw.indexOf(CR, start);
  if (cr !== lf - 1) throw new HttpProtocolError('bare CR in head');
  return lf - 1;
}

function parseVersion(raw: Buffer, start: number, end: number): HttpVersion {
  if (end - start !== 8 || raw.toString('latin1', start, start + 5) !== 'HTTP/') {
    throw new HttpProtocolError('malformed HTTP version');
  }
  const v = raw.toString('latin1', start + 5, end);
  if (v === '1.1') return '1.1';
  if (v === '1.0') return '1.0';
  throw new HttpProtocolError(`unsupported HTTP version ${JSON.stringify(v)}`, 505);
}

/** Field lines from `start` to the final CRLF — RFC 9112 §5. */
function parseFields(raw: Buffer, start: number, limits: HeadLimits): HttpHeader[] {
  const headers: HttpHeader[] = [];
  let pos = start;
  for (;;) {
    const end = lineEnd(raw, pos);
    if (end === pos) {
      if (end + 2 !== raw.length) throw new HttpProtocolError('bytes after the end of the head');
      return headers;
    }
    if (headers.length >= limits.maxHeaders)
      throw new HttpProtocolError('too many header fields', 431);
    const first = raw[pos];
    if (first === SP || first === HTAB) throw new HttpProtocolError('obsolete line folding');
    let colon = pos;
    while (colon < end && TOKEN[raw[colon] ?? 0] === 1) colon++;
    if (colon === pos || colon === end || raw[colon] !== COLON) {
      throw new HttpProtocolError('malformed header field name');
    }
    let vs = colon + 1;
    let ve = end;
    for (let i = vs; i < ve; i++) {
      if (FIELD_VALUE[raw[i] ?? 0] !== 1)
        throw new HttpProtocolError('control character in header value');
    }
    while (vs < ve && (raw[vs] === SP || raw[vs] === HTAB)) vs++;
    while (ve > vs && (raw[ve - 1] === SP || raw[ve - 1] === HTAB)) ve--;
    headers.push({
      name: raw.toString('latin1', pos, colon).toLowerCase(),
      value: raw.toString('latin1', vs, ve),
      lineStart: pos,
      lineEnd: end + 2,
    });
    pos = end + 2;
  }
}

/** The parts of a request head, before framing is derived. */
export interface ParsedRequestHead {
  readonly method: string;
  readonly target: string;
  readonly version: HttpVersion;
  readonly headers: HttpHeader[];
  readonly fieldsStart: number;
}

/** Parses a whole request head (`raw` ends with CRLF CRLF) — RFC 9112 §3. */
export function parseRequestHead(raw: Buffer, limits: HeadLimits): ParsedRequestHead {
  const end = lineEnd(raw, 0);
  if (end > limits.maxStartLineBytes) throw new HttpProtocolError('request line too long', 414);
  const sp1 = raw.indexOf(SP, 0);
  if (sp1 <= 0 || sp1 >= end) throw new HttpProtocolError('malformed request line');
  for (let i = 0; i < sp1; i++) {
    if (TOKEN[raw[i] ?? 0] !== 1) throw new HttpProtocolError('malformed method');
  }
  const sp2 = raw.indexOf(SP, sp1 + 1);
  if (sp2 < 0 || sp2 >= end || sp2 === sp1 + 1)
    throw new HttpProtocolError('malformed request line');
  // request-target is visible ASCII only — RFC 9112 §3.2.
  for (let i = sp1 + 1; i < sp2; i++) {
    const c = raw[i] ?? 0;
    if (c <= SP || c >= 0x7f) throw new HttpProtocolError('invalid character in request target');
  }
  const version = parseVersion(raw, sp2 + 1, end);
  return {
    method: raw.toString('latin1', 0, sp1),
    target: raw.toString('latin1', sp1 + 1, sp2),
    version,
    headers: parseFields(raw, end + 2, limits),
    fieldsStart: end + 2,
  };
}

/** The parts of a response head, before framing is derived. */
export interface ParsedResponseHead {
  readonly status: number;
  readonly version: HttpVersion;
  readonly headers: HttpHeader[];
}

/** Parses a whole response head — RFC 9112 §4 (reason phrase may be empty or absent). */
export function parseResponseHead(raw: Buffer, limits: HeadLimits): ParsedResponseHead {
  const end = lineEnd(raw, 0);
  if (end > limits.maxStartLineBytes) throw new HttpProtocolError('status line too long');
  if (end < 12 || raw[8] !== SP) throw new HttpProtocolError('malformed status line');
  const version = parseVersion(raw, 0, 8);
  let status = 0;
  for (let i = 9; i < 12; i++) {
    const d = (raw[i] ?? 0) - 0x30;
    if (d < 0 || d > 9) throw new HttpProtocolError('malformed status code');
    status = status * 10 + d;
  }
  if (status < 100) throw new HttpProtocolError('malformed status code');
  if (end > 12) {
    if (raw[12] !== SP) throw new HttpProtocolError('malformed status line');
    for (let i = 13; i < end; i++) {
      if (FIELD_VALUE[raw[i] ?? 0] !== 1)
        throw new HttpProtocolError('control character in reason');
    }
  }
  return { status, version, headers: parseFields(raw, end + 2, limits) };
}
