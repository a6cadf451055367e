import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHerald } from '../helpers/herald.js';
import { Receiver } from '../helpers/receiver.js';
import { hasChromium, launch, openPage } from './browser.js';
import { API_KEY, startUiHerald } from './herald.js';

/**
 * Destination filters in the console: the source page says what each destination takes,
 * where each request went, and, asked, why not to the others.
 */
describe.skipIf(!hasChromium)('console: a source whose destinations filter', () => {
  let t: TestHerald;
  let browser: Browser;
  let receiver: Receiver;
  let source: { id: string };

  beforeAll(async () => {
    [t, browser, receiver] = await Promise.all([startUiHerald(), launch(), new Receiver().start()]);
    const s = await t.api('POST', '/v1/sources', {
      name: 'Repo events', verification: { scheme: 'none' },
      destinations: [
        { url: `${receiver.url}/deploy`, filter: { 'headers.x-github-event': 'push', 'body.ref': 'refs/heads/main' } },
        { url: `${receiver.url}/triage`, filter: { 'headers.x-github-event': 'issues' } },
      ],
    });
    expect(s.status).toBe(201);
    source = s.body;
    const post = (event: string, body: string) =>
      fetch(`${t.url}/in/${source.id}`, { method: 'POST', body, headers: { 'content-type': 'application/json', 'x-github-event': event } });
    expect((await post('push', '{"ref":"refs/heads/main"}')).status).toBe(202);
    await receiver.waitFor(1);
    expect((await post('push', '{"ref":"refs/heads/feature-x"}')).status).toBe(202);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.stop();
    await t?.close();
  });

  it('shows each destination\'s filter, where a request went, and why a request went nowhere', async () => {
    const { page, errors } = await openPage(browser, t.url);
    await page.goto(`${t.url}/ui/`);
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Apps', exact: true }).waitFor();
    await page.goto(`${t.url}/ui/sources/${source.id}`);
    await page.getByRole('heading', { name: 'Request log' }).waitFor();
    await page.getByText('only when {"headers.x-github-event":"push","body.ref":"refs/heads/main"}').waitFor();

    const rows = page.locator('li.log-row-req');
    await expect.poll(() => rows.count()).toBe(2);
    // Newest first: the push to a feature branch went nowhere.
    const nowhere = rows.nth(0);
    await nowhere.getByRole('button', { name: /application\/json/ }).click();
    await nowhere.getByText("No destination's filter matched this request").waitFor();
    await nowhere.getByRole('button', { name: 'Why not the others?' }).click();
    const why = nowhere.getByRole('list', { name: 'Destinations not matched' });
    await why.getByText(/body\.ref.*refs\/heads\/feature-x/).waitFor();
    await why.getByText(/x-github-event/).waitFor();
    expect(await why.locator('li').count()).toBe(2);

    // The push to main went to the deploy destination only.
    const main = rows.nth(1);
    await main.getByRole('button', { name: /application\/json/ }).click();
    await main.getByRole('heading', { name: 'Forwarded to' }).waitFor();
    await main.getByText(`${receiver.url}/deploy`).waitFor();
    expect(await main.getByText(`${receiver.url}/triage`).count()).toBe(0);
    await main.getByRole('button', { name: 'Why not the others?' }).click();
    await main.getByRole('list', { name: 'Destinations not matched' }).getByText(/x-github-event/).waitFor();
    expect(errors).toEqual([]);
  });
});
