/**
 * The dashboard over the central store in real Chromium (playwright-core driving Debian's
 * /usr/bin/chromium): two gateways ship to the local NATS, a collector writes PostgreSQL,
 * `central serve`'s API serves dist/web. Search shows records of both nodes, the node
 * selector narrows to one, a record opens by NODE:SEQ, and Overview lists the nodes.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCentralApiServer, type CentralApiServer } from '../../src/api/index.js';
import { silentLogger } from '../../src/log.js';
import { CentralReader } from '../../src/ship/index.js';
import { type BrowserPage, builtWeb, openPage } from '../helpers/browser.js';
import { startCentral, type TestCentral } from '../helpers/central.js';

let central: TestCentral;
let api: CentralApiServer;
let browser: BrowserPage;
let page: Page;
let base: string;

beforeAll(async () => {
  const webRoot = await builtWeb();
  central = await startCentral('browser', ['east-1', 'west-1']);
  await central.traffic('east-1', [['set', 'east:key', 'v']]);
  await central.traffic('west-1', [['set', 'west:key', 'v']]);
  await central.settle();
  api = await createCentralApiServer({
    source: new CentralReader(central.store),
    log: silentLogger(),
    listen: { host: '127.0.0.1', port: 0 },
    tokens: [],
    keys: central.keys,
    webRoot,
  });
  base = `http://127.0.0.1:${(await api.listen()).port}/`;
  browser = await openPage();
  page = browser.page;
}, 90_000);

afterAll(async () => {
  await browser?.browser.close();
  await api?.close();
  await central?.stop();
});

const nodesShown = async (): Promise<string[]> => {
  const rows = await page.getByTestId('event-row').all();
  return Promise.all(rows.map(async (r) => (await r.getAttribute('data-node')) ?? ''));
};

describe('dashboard over the central store', () => {
  it('shows records of both nodes and filters by node with the selector', async () => {
    await page.goto(`${base}#/search?listener=cache`);
    await page.getByTestId('central-badge').waitFor();
    await page.getByTestId('event-row').first().waitFor();
    await expect
      .poll(async () => new Set(await nodesShown()))
      .toEqual(new Set(['east-1', 'west-1']));
    await page.getByTestId('node-select').selectOption('west-1');
    await expect.poll(async () => new Set(await nodesShown())).toEqual(new Set(['west-1']));
    expect(page.url()).toContain('node=west-1');
    const row = page.getByTestId('event-row').filter({ hasText: 'west:key' }).first();
    await row.click();
    const drawer = page.getByTestId('drawer');
    await drawer.getByTestId('statement').waitFor();
    expect(await drawer.getByTestId('statement').textContent()).toBe('set west:key');
    expect(await drawer.locator('h2').textContent()).toMatch(/#west-1:\d+/);
    // Inclusion proofs stay with the node: the drawer says so instead of a verdict.
    await drawer.getByTestId('not-verified').waitFor();
    await page.getByTestId('node-select').selectOption('');
    await expect
      .poll(async () => new Set(await nodesShown()))
      .toEqual(new Set(['east-1', 'west-1']));
  }, 90_000);

  it('Overview lists the nodes; gateway-only pages are not offered', async () => {
    await page.goto(`${base}#/overview`);
    const nodes = page.getByTestId('nodes');
    await nodes.getByText('east-1').waitFor();
    await nodes.getByText('west-1').waitFor();
    expect(await page.locator('nav a', { hasText: 'Policies' }).count()).toBe(0);
    expect(await page.locator('nav a', { hasText: 'Inventory' }).count()).toBe(0);
  }, 90_000);
});
