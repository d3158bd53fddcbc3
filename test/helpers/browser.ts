/**
 * The dashboard in real Chromium for browser tests: the built dashboard (dist/web, built
 * here when missing so `vitest run test/browser` works alone), one page of playwright-core
 * driving Debian's /usr/bin/chromium, and `startDashboard`: an in-process gateway with the
 * given listeners and its API serving the dashboard. Every dialog the page opens is
 * dismissed and kept: an injected script would open one, so tests expect `dialogs` empty.
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

/** The built dashboard (dist/web): `npm test` builds it first; built here when missing. */
export async function builtWeb(): Promise<string> {
  const web = `${ROOT}dist/web`;
  if (!existsSync(`${web}/index.html`))
    await run(
      'npx',
      ['vite', 'build', '--config', `${ROOT}web/vite.config.ts`, '--logLevel', 'warn'],
      { timeoutMs: 120_000 },
    );
  return web;
}

export interface BrowserPage {
  readonly browser: Browser;
  readonly page: Page;
  /** Messages of the dialogs the page opened. */
  readonly dialogs: readonly string[];
  /** Saves the viewport as `<name>.png` in SCREENSHOT_DIR. */
  readonly shot: (name: string) => Promise<void>;
}

/** Headless Chromium with one 1360×860 page. */
export async function openPage(): Promise<BrowserPage> {
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 860 } });
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    return {
      browser,
      page,
      dialogs,
      shot: async (name) => {
        await page.screenshot({ path: `${SCREENSHOT_DIR}/${name}.png`, fullPage: false });
      },
    };
  } catch (err) {
    await browser.close();
    throw err;
  }
}

export interface Dashboard extends BrowserPage {
  readonly gw: TestGateway;
  readonly api: ApiServer;
  /** The dashboard's address, ending in `/`. */
  readonly base: string;
  readonly close: () => Promise<void>;
}

/** Starts gateway, API and browser (`extra.api` is set to listen on 127.0.0.1:0). */
export async function startDashboard(gateway: StartOptions): Promise<Dashboard> {
  const webRoot = await builtWeb();
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
      webRoot,
      processMetrics: false,
    });
    closers.push(() => api.close());
    const bound = await api.listen();
    const opened = await openPage();
    closers.push(() => opened.browser.close());
    return { ...opened, gw, api, base: `http://127.0.0.1:${bound.port}/`, close };
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
