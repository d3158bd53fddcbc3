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

/** Source ports of connection-open records through orders-db, oldest first. */
function clientPorts(): number[] {
  return byAction(d.gw.events(), 'connection-open')
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
}, 180_000);

afterAll(() => d?.close());

describe('dashboard in Chromium', () => {
  it('Overview shows a psql connection live, while it is open', async () => {
    await d.page.goto(d.base);
    await expect.poll(() => d.page.locator('.pill.on').count(), { timeout: 10_000 }).toBe(1);
    // A session that stays open for a moment, with a hostile-looking statement in it.
    const session = psql(d.gw.port('orders-db'), [`select '${SCRIPT}' as x, pg_sleep(3)`]);
    await d.gw.waitForEvents(() => clientPorts().length >= 1);
    const port = clientPorts()[0] ?? 0;
    const row = d.page.getByTestId('connections').locator('tr', { hasText: `127.0.0.1:${port}` });
    await row.waitFor({ timeout: 10_000 });
    await expect.poll(() => row.textContent()).toContain('orders-db');
    await expect.poll(() => d.page.getByTestId('active-orders-db').textContent()).toBe('1');
    await d.shot('overview');
    expect(await session).toContain(SCRIPT);
    await d.page
      .getByTestId('live-feed')
      .getByText('connection-close')
      .first()
      .waitFor({ timeout: 10_000 });
  });

  it('Search by source port finds it; the detail is verified in the browser and renders the statement as text', async () => {
    const port = clientPorts()[0] ?? 0;
    d.gw.gateway.checkpointer.checkpointNow();
    await d.page.goto(`${d.base}#/search?source_port=${port}`);
    const rows = d.page.getByTestId('event-row');
    await rows.first().waitFor();
    const texts = await rows.allTextContents();
    expect(texts.length).toBeGreaterThanOrEqual(3);
    for (const t of texts) expect(t).toContain(`127.0.0.1:${port}`);
    await d.shot('search');
    // The URL holds the search: reloading it gives the same rows.
    await d.page.reload();
    await rows.first().waitFor();
    expect(await rows.count()).toBe(texts.length);

    await rows.filter({ hasText: 'db-query' }).first().click();
    const drawer = d.page.getByTestId('drawer');
    await drawer.getByTestId('verified').waitFor({ timeout: 10_000 });
    expect(await drawer.getByTestId('verified').textContent()).toContain('signed checkpoint');
    expect(await drawer.getByTestId('source').textContent()).toBe(`127.0.0.1:${port}`);
    const statement = drawer.getByTestId('statement');
    expect(await statement.textContent()).toContain(SCRIPT);
    expect(await drawer.locator('script').count()).toBe(0);
    expect(d.dialogs).toEqual([]);
    await d.shot('detail');
  });

  it('a connection story lists its actions in order', async () => {
    const open = byAction(d.gw.events(), 'connection-open').find(
      (e) => field(e, 'listener.name') === 'orders-db',
    );
    await d.page.goto(`${d.base}#/story?id=${String(field(open ?? {}, 'connection.id'))}`);
    await d.page.getByTestId('story-item').first().waitFor();
    const items = await d.page.getByTestId('story-item').allTextContents();
    expect(items[0]).toContain('connection-open');
    expect(items.some((t) => t.includes('db-query') && t.includes(SCRIPT))).toBe(true);
    expect(d.dialogs).toEqual([]);
    await d.shot('story');
  });

  it('live tail shows a new connection without a reload', async () => {
    await d.page.goto(`${d.base}#/search?listener=orders-db&action=connection-open&live=1`);
    await d.page.getByText('following').waitFor({ timeout: 10_000 });
    const before = await d.page.getByTestId('event-row').count();
    const navigations: string[] = [];
    d.page.on('framenavigated', (f) => navigations.push(f.url()));
    await psql(d.gw.port('orders-db'), ['select 1']);
    await d.gw.waitForEvents(() => clientPorts().length >= 2);
    const port = clientPorts()[1] ?? 0;
    await d.page
      .getByTestId('event-row')
      .filter({ hasText: `127.0.0.1:${port}` })
      .waitFor({ timeout: 10_000 });
    expect(await d.page.getByTestId('event-row').count()).toBe(before + 1);
    expect(navigations).toEqual([]);
  });

  it('Integrity verifies the log on request; Policies, Alerts and Inventory render', async () => {
    await d.page.goto(`${d.base}#/integrity`);
    await d.page.getByTestId('verify-now').click();
    await expect
      .poll(() => d.page.getByTestId('verify-result').textContent(), { timeout: 15_000 })
      .toContain('intact');
    await d.shot('integrity');
    await d.page.goto(`${d.base}#/policies`);
    await d.page.getByText('local-clients').first().waitFor();
    await d.shot('policies');
    await d.page.goto(`${d.base}#/alerts`);
    await d.page.getByText('no alerts recorded').waitFor();
    await d.shot('alerts');
    await d.page.goto(`${d.base}#/inventory`);
    await d.page.getByTestId('inventory').locator('tr', { hasText: 'orders-db' }).waitFor();
    await d.shot('inventory');
    expect(d.dialogs).toEqual([]);
  });
});
