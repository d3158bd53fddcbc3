/**
 * The dashboard in real Chromium for browser tests: an in-process gateway with the given
 * listeners, the API serving the built dashboard (dist/web, built here when missing so
 * `vitest run test/browser` works alone), and one page of playwright-core driving Debian's
 * /usr/bin/chromium. Every dialog the page opens is dismissed and kept: an injected script
 * would open one, so tests expect `dialogs` to stay empty.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createApiServer, type ApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/log.js';
import { startGateway, type StartOptions, type TestGateway } from './gateway.js';
import { run } from './run.js';
import { SCREENSHOT_DIR } from './screenshots.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WEB = `${ROOT}dist/web`;

export interface Dashboard {
  readonly gw: TestGateway;
  readonly api: ApiServer;
  readonly browser: Browser;
  readonly page: Page;
  /** The dashboard's address, ending in `/`. */
  readonly base: string;
  /** Messages of the dialogs the page opened. */
  readonly dialogs: readonly string[];
  /** Saves the viewport as `<name>.png` in SCREENSHOT_DIR. */
  readonly shot: (name: string) => Promise<void>;
  readonly close: () => Promise<void>;
}

/** Starts gateway, API and browser (`extra.api` is set to listen on 127.0.0.1:0). */
export async function startDashboard(gateway: StartOptions): Promise<Dashboard> {
  if (!existsSync(`${WEB}/index.html`))
    await run(
      'npx',
      ['vite', 'build', '--config', `${ROOT}web/vite.config.ts`, '--logLevel', 'warn'],
      { timeoutMs: 120_000 },
    );
  const gw = await startGateway({
    ...gateway,
    extra: { ...gateway.extra, api: { listen: '127.0.0.1:0' } },
  });
  // Closed in reverse order of opening: browser, API, gateway.
  const closers: (() => Promise<void>)[] = [() => gw.stop()];
  const close = async (): Promise<void> => {
    for (const c of closers.splice(0).reverse()) await c();
  };
  try {
    const api = await createApiServer({
      gateway: gw.gateway,
      log: silentLogger(),
      webRoot: WEB,
      processMetrics: false,
    });
    closers.push(() => api.close());
    const bound = await api.listen();
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    closers.push(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    return {
      gw,
      api,
      browser,
      page,
      base: `http://127.0.0.1:${bound.port}/`,
      dialogs,
      shot: async (name) => {
        await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: false });
      },
      close,
    };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Runs each statement as its own query in one psql session through a postgres listener. */
export function psql(port: number, statements: readonly string[]): Promise<string> {
  const args = ['-X', '-At', '-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'test'];
  for (const s of statements) args.push('-c', s);
  return run('psql', args);
}
