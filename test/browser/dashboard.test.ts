/**
 * The dashboard in real Chromium (playwright-core driving Debian's /usr/bin/chromium)
 * against a real in-process gateway + API with real psql traffic through a postgres
 * listener. Takes the screenshots linked from docs/dashboard.md (UPDATE_SCREENSHOTS=1 refreshes docs/screenshots/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, psql, startDashboard } from '../helpers/browser.js';
import { byAction, field } from '../helpers/gateway.js';

const SCRIPT = '<script>alert(1)</script>';

let d: Dashboard;
let gw: Dashboard['gw'];
let page: Dashboard['page'];
let base: string;
let dialogs: Dashboard['dialogs'];
let shot: Dashboard['shot'];

/** Source ports of connection-open records through orders-db, oldest first. */
function clientPorts(): number[] {
  return byAction(gw.events(), 'connection-open')
    .filter((e) => field(e, 'listener.name') === 'orders-db')
    .map((e) => Number(field(e, 'source.port')));
}

beforeAll(async () => {
  d = await startDashboard({
    listeners: [
      {
        name: 'orders-db',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:5432',
        protocol: 'postgres',
        policy: 'databases',
        owner: 'payments',
      },
      { name: 'cache', listen: '127.0.0.1:0', target: '127.0.0.1:6379', protocol: 'redis' },
    ],
    policies: {
      databases: {
        default: 'deny',
        rules: [{ id: 'local-clients', allow: { sources: ['127.0.0.0/8'] } }],
      },
    },
  });
  ({ gw, page, base, dialogs, shot } = d);
}, 180_000);

afterAll(() => d?.close());

describe('dashboard in Chromium', () => {
  it('Overview shows a psql connection live, while it is open', async () => {
    await page.goto(base);
    await expect.poll(() => page.locator('.pill.on').count(), { timeout: 10_000 }).toBe(1);
    // A session that stays open for a moment, with a hostile-looking statement in it.
    const session = psql(gw.port('orders-db'), [`select '${SCRIPT}' as x, pg_sleep(3)`]);
    await gw.waitForEvents(() => clientPorts().length >= 1);
    const port = clientPorts()[0] ?? 0;
    const row = page.getByTestId('connections').locator('tr', { hasText: `127.0.0.1:${port}` });
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(() => row.textContent()).toContain('orders-db');
    await expect.poll(() => page.getByTestId('active-orders-db').textContent()).toBe('1');
    await shot('overview');
    expect(await session).toContain(SCRIPT);
    await page
      .getByTestId('live-feed')
      .getByText('connection-close')
      .first()
      .waitFor({ timeout: 10_000 });
  });

  it('Search by source port finds it; the detail is verified in the browser and renders the statement as text', async () => {
    const port = clientPorts()[0] ?? 0;
    gw.gateway.checkpointer.checkpointNow();
    await page.goto(`${base}#/search?source_port=${port}`);
    const rows = page.getByTestId('event-row');
    await rows.first().waitFor();
    const texts = await rows.allTextContents();
    expect(texts.length).toBeGreaterThanOrEqual(3);
    for (const t of texts) expect(t).toContain(`127.0.0.1:${port}`);
    await shot('search');
    // The URL holds the search: reloading it gives the same rows.
    await page.reload();
    await rows.first().waitFor();
    expect(await rows.count()).toBe(texts.length);

    await rows.filter({ hasText: 'db-query' }).first().click();
    const drawer = page.getByTestId('drawer');
    await drawer.getByTestId('verified').waitFor({ timeout: 10_000 });
    expect(await drawer.getByTestId('verified').textContent()).toContain('signed checkpoint');
    expect(await drawer.getByTestId('source').textContent()).toBe(`127.0.0.1:${port}`);
    const statement = drawer.getByTestId('statement');
    expect(await statement.textContent()).toContain(SCRIPT);
    expect(await drawer.locator('script').count()).toBe(0);
    expect(dialogs).toEqual([]);
    await shot('detail');
  });

  it('a connection story lists its actions in order', async () => {
    const open = byAction(gw.events(), 'connection-open').find(
      (e) => field(e, 'listener.name') === 'orders-db',
    );
    await page.goto(`${base}#/story?id=${String(field(open ?? {}, 'connection.id'))}`);
    await page.getByTestId('story-item').first().waitFor();
    const items = await page.getByTestId('story-item').allTextContents();
    expect(items[0]).toContain('connection-open');
    expect(items.some((t) => t.includes('db-query') && t.includes(SCRIPT))).toBe(true);
    expect(dialogs).toEqual([]);
    await shot('story');
  });

  it('live tail shows a new connection without a reload', async () => {
    await page.goto(`${base}#/search?listener=orders-db&action=connection-open&live=1`);
    await page.getByText('following').waitFor({ timeout: 10_000 });
    const before = await page.getByTestId('event-row').count();
    const navigations: string[] = [];
    page.on('framenavigated', (f) => navigations.push(f.url()));
    await psql(gw.port('orders-db'), ['select 1']);
    await gw.waitForEvents(() => clientPorts().length >= 2);
    const port = clientPorts()[1] ?? 0;
    await page
      .getByTestId('event-row')
      .filter({ hasText: `127.0.0.1:${port}` })
      .waitFor({ timeout: 10_000 });
    expect(await page.getByTestId('event-row').count()).toBe(before + 1);
    expect(navigations).toEqual([]);
  });

  it('Integrity verifies the log on request; Policies, Alerts and Inventory render', async () => {
    await page.goto(`${base}#/integrity`);
    await page.getByTestId('verify-now').click();
    await expect
      .poll(() => page.getByTestId('verify-result').textContent(), { timeout: 15_000 })
      .toContain('intact');
    await shot('integrity');
    await page.goto(`${base}#/policies`);
    await page.getByText('local-clients').first().waitFor();
    await shot('policies');
    await page.goto(`${base}#/alerts`);
    await page.getByText('no alerts recorded').waitFor();
    await shot('alerts');
    await page.goto(`${base}#/inventory`);
    await page.getByTestId('inventory').locator('tr', { hasText: 'orders-db' }).waitFor();
    await shot('inventory');
    expect(dialogs).toEqual([]);
  });
});
