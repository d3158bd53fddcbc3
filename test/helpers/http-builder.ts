/**
 * Builds HTTP/1.1 wire bytes for tests by plain string assembly — independent of the
 * production parsers and serializer. Grammar: RFC 9112 §2.1 (message), §3 (request line),
 * §4 (status line), §5 (field lines), §7.1 (chunked).
 */

export type Fields = readonly (readonly [string, string])[];

function fieldLines(fields: Fields): string {
  return fields.map(([n, v]) => `${n}: ${v}\r\n`).join('');
}

/** A request: request line, fields, empty line, body as given (no framing added). */
export function request(
  method: string,
  target: string,
  fields: Fields,
  body: string | Buffer = '',
): Buffer {
  const head = Buffer.from(`${method} ${target} HTTP/1.1\r\n${fieldLines(fields)}\r\n`, 'latin1');
  return Buffer.concat([head, typeof body === 'string' ? Buffer.from(body, 'latin1') : body]);
}

/** A request with `Content-Length` matching its body. */
export function requestWithBody(
  method: string,
  target: string,
  fields: Fields,
  body: string,
): Buffer {
  return request(
    method,
    target,
    [...fields, ['Content-Length', String(Buffer.byteLength(body, 'latin1'))]],
    body,
  );
}

/** A response: status line, fields, empty line, body as given. */
export function response(
  status: number,
  reason: string,
  fields: Fields,
  body: string | Buffer = '',
): Buffer {
  const head = Buffer.from(`HTTP/1.1 ${status} ${reason}\r\n${fieldLines(fields)}\r\n`, 'latin1');
  return Buffer.concat([head, typeof body === 'string' ? Buffer.from(body, 'latin1') : body]);
}

/** A chunked body (RFC 9112 §7.1): one chunk per part, optional extensions and trailers. */
export function chunkedBody(
  parts: readonly string[],
  options: { ext?: string; trailers?: Fields } = {},
): string {
  const ext = options.ext === undefined ? '' : `;${options.ext}`;
  let out = '';
  for (const p of parts) out += `${Buffer.byteLength(p, 'latin1').toString(16)}${ext}\r\n${p}\r\n`;
  return `${out}0${ext}\r\n${fieldLines(options.trailers ?? [])}\r\n`;
}

/** Every way to feed `bytes`: whole, byte by byte, and split in two at every offset. */
export function* splits(bytes: Buffer): Generator<{ name: string; pieces: Buffer[] }> {
  yield { name: 'whole', pieces: [Buffer.from(bytes)] };
  const single: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) single.push(Buffer.from(bytes.subarray(i, i + 1)));
  yield { name: 'byte by byte', pieces: single };
  for (let at = 1; at < bytes.length; at++) {
    yield {
      name: `split at ${at}`,
      pieces: [Buffer.from(bytes.subarray(0, at)), Buffer.from(bytes.subarray(at))],
    };
  }
}

/** Cut `bytes` at the given offsets (sorted, deduplicated, within range). */
export function cut(bytes: Buffer, offsets: readonly number[]): Buffer[] {
  const points = [...new Set(offsets.map((o) => Math.max(0, Math.min(bytes.length, o))))].sort(
    (a, b) => a - b,
  );
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(Buffer.from(bytes.subarray(prev, p)));
    prev = p;
  }
  out.push(Buffer.from(bytes.subarray(prev)));
  return out;
}
