/**
 * The Search page's "aggregate repeats" toggle in real Chromium (playwright-core driving
 * /usr/bin/chromium) against an in-process gateway + API with real psql traffic: 25 runs of
 * one statement with different literals fold into counted rows, a row expands to exactly
 * its records, and a hostile literal stays text. Takes docs/screenshots/aggregate.png
 * (UPDATE_SCREENSHOTS=1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Dashboard, psql, startDashboard } from '../helpers/browser.js';
import { byAction, field } from '../helpers/gateway.js';

const SCRIPT = '<script>alert(1)</script>';
const REPEATS = 25;
const SHAPE = 'select relname from pg_class where oid = ?';

let d: Dashboard;

const queries = (): number =>
  byAction(d.gw.events(), 'db-query').filter((e) => field(e, 'listener.name') === 'orders-db')
    .length;

beforeAll(async () => {
  d = await startDashboard({
    listeners: [
      {
        name: 'orders-db',
        listen: '127.0.0.1:0',
        target: '127.0.0.1:5432',
        protocol: 'postgres',
      },
    ],
  });
  const statements = Array.from(
    { length: REPEATS },
    (_, i) => `select relname from pg_class where oid = ${1000 + i}`,
  );
  statements.push(`select '${SCRIPT}' as x`, `select '${SCRIPT}' as x`);
  await psql(d.gw.port('orders-db'), statements);
  await d.gw.waitForEvents(() => queries() === REPEATS + 2);
}, 180_000);

afterAll(() => d?.close());

describe('aggregate repeats in Chromium', () => {
  it('folds the repeated statement into counted rows and expands one to its records', async () => {
    await d.page.goto(`${d.base}#/search?listener=orders-db&action=db-query`);
    await d.page.getByTestId('event-row').first().waitFor();
    await d.page.getByTestId('aggregate-toggle').check();
    await expect.poll(() => d.page.url()).toContain('agg=1');
    const folded = d.page.getByTestId('group-row').filter({ hasText: SHAPE });
    await folded.first().waitFor({ timeout: 10_000 });
    // The 25 runs fold into one row per minute window they fell in (one, or two at a
    // minute boundary); the counts add up exactly.
    const counts = (await folded.getByTestId('group-count').allTextContents()).map((t) =>
      Number(t.replace(/[^\d]/g, '')),
    );
    expect(counts.length).toBeGreaterThanOrEqual(1);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(REPEATS);
    expect(await folded.first().getByTestId('group-outcomes').textContent()).toMatch(/success/);
    // A wider fold window from the form: still every run counted, exactly.
    await d.page.locator('input[name="window"]').fill('1h');
    await d.page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => d.page.url()).toContain('window=1h');
    await expect
      .poll(() => d.page.getByTestId('result-count').textContent())
      .toContain('within 1h windows');
    const hourly = (await folded.getByTestId('group-count').allTextContents()).map((t) =>
      Number(t.replace(/[^\d]/g, '')),
    );
    expect(hourly.reduce((a, b) => a + b, 0)).toBe(REPEATS);
    // The hostile literal is a `?` in the shape: the folded row shows no script text.
    const hostile = d.page.getByTestId('group-row').filter({ hasText: 'select ? as x' });
    expect(await hostile.count()).toBeGreaterThanOrEqual(1);

    const counts1h = hourly;
    await folded.first().click();
    const members = d.page
      .getByTestId('group')
      .filter({ has: folded.first() })
      .getByTestId('group-members');
    await members.getByTestId('event-row').first().waitFor();
    await expect.poll(() => members.getAttribute('data-count')).toBe(String(counts1h[0]));
    const texts = await members.getByTestId('event-row').allTextContents();
    for (const t of texts) expect(t).toMatch(/select relname from pg_class where oid = 10\d\d/);
    await d.shot('aggregate');

    // The hostile statement's own records render as text, never as markup.
    await hostile.first().click();
    const hostileMembers = d.page
      .getByTestId('group')
      .filter({ has: hostile.first() })
      .getByTestId('group-members');
    await hostileMembers.getByTestId('event-row').first().waitFor();
    expect(await hostileMembers.getByTestId('event-row').first().textContent()).toContain(SCRIPT);
    expect(await d.page.locator('.table script').count()).toBe(0);
    expect(d.dialogs).toEqual([]);

    // A record opens the detail drawer; collapsing and turning aggregation off go back.
    await members.getByTestId('event-row').first().click();
    await d.page.getByTestId('drawer').waitFor();
    await expect.poll(() => d.page.url()).toContain('sel=');
    // The toggle is driven by the URL: React holds it checked until the hashchange event
    // arrives, so assert the state it settles in rather than the frame after the click.
    const toggle = d.page.getByTestId('aggregate-toggle');
    await toggle.click();
    await expect.poll(() => toggle.isChecked()).toBe(false);
    await d.page.getByTestId('event-row').first().waitFor();
    expect(await d.page.getByTestId('group-row').count()).toBe(0);
    expect(await d.page.getByTestId('result-count').textContent()).toBe(`${REPEATS + 2} records`);
  });
});
