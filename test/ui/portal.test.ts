import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver } from '../helpers/receiver.js';
import type { TestHerald } from '../helpers/herald.js';
import { hasChromium, horizontalOverflow, launch, openPage, shot } from './browser.js';
import { portalLink, seedCatalogue, startUiHerald } from './herald.js';

/** The customer portal, as a customer of the product uses it from the link their product gives them. */
describe.skipIf(!hasChromium)('customer portal', () => {
  let t: TestHerald;
  let browser: Browser;
  let receiver: Receiver;
  let app: string;

  beforeAll(async () => {
    // One quick retry, then failed: the failure shows up within seconds.
    [t, browser, receiver] = await Promise.all([startUiHerald({}, (c) => void (c.retrySchedule = [1])), launch(), new Receiver().start()]);
    app = (await t.api('POST', '/v1/apps', { name: 'Acme Inc', uid: 'acme' })).body.id;
    await seedCatalogue(t);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.stop();
    await t?.close();
  });

  it('a customer adds an endpoint, sends a test event, sees a failure live, and retries it', async () => {
    const { page, dialogs, external, errors, context } = await openPage(browser, t.url);
    const link = await portalLink(t, app);
    await page.goto(link);
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    // The one-time token left the address bar before anything else.
    expect(page.url()).not.toContain('token=');
    expect(await page.evaluate(() => location.hash)).toBe('');

    await page.getByRole('link', { name: 'Add endpoint' }).first().click();
    await page.getByLabel('Endpoint URL').fill(`${receiver.url}/hooks`);
    await page.getByLabel('Description').fill('Production webhook');
    await page.getByLabel('Every event type').uncheck();
    await page.getByRole('checkbox', { name: /person\.\*/ }).check();
    await shot(page, 'portal-add-endpoint');
    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByText('Endpoint created.').waitFor();
    // The secret is shown right after creation, and matches what signs the deliveries.
    const secret = (await page.getByLabel('Signing secret value').textContent())!;
    expect(secret).toMatch(/^whsec_/);

    // Send test event: pick person.created, prefilled with its example.
    await page.getByRole('button', { name: 'Send test event' }).click();
    const dialog = page.getByRole('dialog', { name: 'Send test event' });
    await dialog.getByLabel('Event type').selectOption('person.created');
    await expect.poll(() => dialog.getByLabel('Data (JSON)').inputValue()).toContain('Ada Lovelace');
    await dialog.getByRole('button', { name: 'Send', exact: true }).click();
    await dialog.getByText('Succeeded').waitFor({ timeout: 15_000 });
    await receiver.waitFor(1);
    expect(JSON.parse(receiver.requests[0].body)).toMatchObject({ type: 'person.created', data: { name: 'Ada Lovelace' } });
    expect(receiver.requests[0].headers['webhook-signature']).toMatch(/^v1,/);
    await dialog.getByRole('button', { name: 'Close' }).first().click();
    await page.getByText('Success rate').first().waitFor();
    await shot(page, 'portal-endpoint');

    // The receiver breaks; the product publishes; the failure shows up in the open delivery log.
    await page.getByRole('link', { name: 'Delivery log' }).click();
    await page.getByRole('heading', { name: 'Delivery log' }).waitFor();
    receiver.respond = () => ({ status: 500, body: 'database unavailable' });
    await t.api('POST', `/v1/apps/${app}/events`, { type: 'person.deleted', data: { id: 42 } });
    const failedRow = page.locator('li.log-row', { hasText: 'person.deleted' });
    await failedRow.getByText('Failed').waitFor({ timeout: 15_000 });
    await expect.poll(() => failedRow.textContent()).toContain('HTTP 500');
    await shot(page, 'portal-delivery-log');

    // Fixed; Retry; the new attempt succeeds.
    receiver.respond = () => ({ status: 200, body: 'ok' });
    await failedRow.getByRole('link').click();
    await page.getByRole('heading', { name: 'Attempts' }).waitFor();
    await page.getByText('database unavailable').first().waitFor();
    await page.getByRole('button', { name: 'Retry' }).click();
    await page.locator('.attempt', { hasText: 'HTTP 200' }).waitFor({ timeout: 15_000 });
    await page.locator('.kv').getByText('Succeeded').waitFor();
    expect(await page.locator('.attempt').count()).toBe(3);
    // What was sent: the envelope and the headers (without signatures).
    await page.locator('table.headers-table').getByText('webhook-id', { exact: true }).waitFor();
    await page.getByLabel('Payload sent').getByText('"id": 42').waitFor();
    await shot(page, 'portal-delivery');

    expect(dialogs).toEqual([]);
    expect(external).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('at 360 px wide the endpoints and delivery screens have no horizontal scroll', async () => {
    const { page, context } = await openPage(browser, t.url, { width: 360, height: 740 });
    await page.goto(await portalLink(t, app, {}) + '');
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    await page.locator('.endpoint-card').first().waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await shot(page, 'portal-mobile-endpoints');
    await page.getByRole('link', { name: 'Delivery log' }).click();
    await page.locator('li.log-row').first().waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await shot(page, 'portal-mobile-delivery-log');
    await page.locator('li.log-row').first().getByRole('link').click();
    await page.getByRole('heading', { name: 'Attempts' }).waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await page.getByRole('link', { name: 'Endpoints' }).click();
    await page.locator('.endpoint-card a').first().click();
    await page.getByRole('heading', { name: 'Signing secret' }).waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await context.close();
  }, 30_000);
});
