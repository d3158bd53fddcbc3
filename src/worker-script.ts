/**
 * How to start a worker thread whose script sits next to the module that starts it: code
 * run as the worker (`eval: true`) that imports `name.js` when running from dist, or
 * `name.ts` through tsx when running from src (vitest, `node --import tsx`). Node 20 does
 * not apply `--import tsx` from a worker's execArgv before loading the worker's own script,
 * so the bootstrap registers tsx's ESM loader (its `tsx/esm/api`) first.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * The eval'd source of worker `name` next to `from` (an `import.meta.url`). `onLoadError`
 * is a JavaScript function body run with `err` when the script cannot be loaded (default:
 * rethrow, so the Worker emits 'error').
 */
export function workerScript(from: string, name: string, onLoadError = 'throw err;'): string {
  const fromTs = from.endsWith('.ts');
  const url = JSON.stringify(new URL(`./${name}.${fromTs ? 'ts' : 'js'}`, from).href);
  const load = fromTs
    ? `import(${JSON.stringify(tsxEsmApi(from))}).then((tsx) => { tsx.register(); return import(${url}); })`
    : `import(${url})`;
  return `${load}.catch((err) => {\n${onLoadError}\n});`;
}

/** The file URL of tsx's ESM `register` API (a devDependency), as seen from `from`. */
function tsxEsmApi(from: string): string {
  const pkgPath = createRequire(from).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgPath, 'utf8')) as {
    exports: Record<string, { import?: { default?: string } }>;
  };
  const entry = pkg.exports['./esm/api']?.import?.default ?? './dist/esm/api/index.mjs';
  return pathToFileURL(join(dirname(pkgPath), entry)).href;
}
