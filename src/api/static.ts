/**
 * The dashboard's built files (web/ → dist/web by `npm run build`), served at `/` with a
 * strict Content-Security-Policy: scripts only from this origin, no inline script, so a
 * record's text can never run as code even if it reached the DOM as HTML.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { PortwardenError } from '../errors.js';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json',
  '.map': 'application/json',
  '.woff2': 'font/woff2',
};

export const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** dist/web beside the compiled API (dist/api → dist/web), or beside the sources in a checkout. */
export function defaultWebRoot(): string | null {
  const here = fileURLToPath(new URL('.', import.meta.url));
  for (const candidate of [join(here, '..', 'web'), join(here, '..', '..', 'dist', 'web')]) {
    if (existsSync(join(candidate, 'index.html'))) return resolve(candidate);
  }
  return null;
}

export function staticRoutes(app: FastifyInstance, root: string | null): void {
  app.get<{ Params: { '*': string } }>('/*', { schema: { hide: true } }, async (req, reply) => {
    void reply.header('x-content-type-options', 'nosniff');
    if (root === null) {
      return reply
        .code(404)
        .type('text/plain; charset=utf-8')
        .send(
          'dashboard not built: run `npm run build` (the API under /api/v1 works without it)\n',
        );
    }
    const wanted = req.params['*'] === '' ? 'index.html' : req.params['*'];
    if (wanted.startsWith('api/'))
      throw new PortwardenError('PW_ERR_NOT_FOUND', { what: `route GET /${wanted.split('?')[0]}` });
    const path = normalize(join(root, wanted));
    const inside = path.startsWith(root + sep);
    const isFile = inside && existsSync(path) && statSync(path).isFile();
    // Unknown paths get the app (it routes by the URL hash), never a file outside root.
    const file = isFile ? path : join(root, 'index.html');
    const type = TYPES[extname(file)] ?? 'application/octet-stream';
    void reply.header('content-security-policy', CSP);
    void reply.header('referrer-policy', 'no-referrer');
    void reply.header(
      'cache-control',
      file.includes(`${sep}assets${sep}`) ? 'public, max-age=31536000, immutable' : 'no-cache',
    );
    return reply.type(type).send(readFileSync(file));
  });
}
