import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Receiver } from '../helpers/receiver.js';
import type { TestHerald } from '../helpers/herald.js';
import { hasChromium, launch, openPage, shot } from './browser.js';
import { portalLink, seedCatalogue, startUiHerald } from './herald.js';

/** Who gets into the customer portal, with what, and how it looks: capabilities, used links, branding. */
describe.skipIf(!hasChromium)('customer portal access', () => {
  let t: TestHerald;
  let browser: Browser;
  let receiver: Receiver;
  let app: string;

  beforeAll(async () => {
    [t, browser, receiver] = await Promise.all([startUiHerald(), launch(), new Receiver().start()]);
    app = (await t.api('POST', '/v1/apps', { name: 'Acme Inc', uid: 'acme' })).body.id;
    await seedCatalogue(t);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.stop();
    await t?.close();
  });

  it('a view-only customer sees no controls to change endpoints or reveal secrets', async () => {
    const ep = await t.api('POST', `/v1/apps/${app}/endpoints`, { url: `${receiver.url}/view`, description: 'read only' });
    const { page, context, errors } = await openPage(browser, t.url);
    await page.goto(await portalLink(t, app, { capabilities: ['view'] }));
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    await page.getByRole('link', { name: `${receiver.url}/view` }).waitFor();
    expect(await page.getByRole('link', { name: 'Add endpoint' }).count()).toBe(0);
    await page.getByRole('link', { name: `${receiver.url}/view` }).click();
    await page.getByRole('heading', { name: 'Signing secret' }).waitFor();
    for (const name of ['Reveal secret', 'Rotate secret', 'Send test event', 'Delete', 'Disable']) {
      expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    }
    expect(await page.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);
    // And the server refuses what the UI doesn't offer.
    const status = await page.evaluate(async (path) => (await fetch(path, { headers: { 'x-herald-session': 'portal' } })).status, `/v1/apps/${app}/endpoints/${ep.body.id}/secret`);
    expect(status).toBe(403);
    expect(errors).toEqual([]);
    await context.close();
  }, 30_000);

  it('an expired or already used link says so', async () => {
    const link = await portalLink(t, app);
    const first = await openPage(browser, t.url);
    await first.page.goto(link);
    await first.page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    await first.context.close();

    const again = await openPage(browser, t.url);
    await again.page.goto(link);
    await again.page.getByRole('heading', { name: 'This link has expired or was already used' }).waitFor();
    await shot(again.page, 'portal-link-expired');
    await again.page.goto(`${t.url}/portal/#token=hpt_not-a-token`);
    await again.page.getByRole('heading', { name: 'This link has expired or was already used' }).waitFor();
    expect(await again.page.getByRole('link', { name: 'Endpoints' }).count()).toBe(0);
    await again.context.close();
  }, 30_000);

  it("the portal wears the product's brand: the app's name and logo, with only the link's colour and dark mode on top", async () => {
    const logo = 'https://cdn.example.com/acme-logo.svg';
    await t.api('PATCH', `/v1/apps/${app}`, { portal: { productName: 'Acme Hooks', primaryColor: '#0f766e', logoUrl: logo } });
    const { page, context, external } = await openPage(browser, t.url);
    // The app's logo, served here so no request leaves the test (a page route wins over openPage's context route).
    let logoLoads = 0;
    await page.route(logo, (route) => {
      logoLoads++;
      return route.fulfill({ contentType: 'image/svg+xml', body: '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><rect width="32" height="32" rx="6" fill="#0f766e"/></svg>' });
    });
    const link = await portalLink(t, app);
    const [base, fragment] = link.split('#');
    // A crafted link: a phishing name and a tracking-pixel logo in the query, on the real portal origin.
    const crafted = { name: 'Support: call +1 555 0100', logo: 'https://evil.example/x.png' };
    const query = new URLSearchParams({ dark: '1', primaryColor: '#e11d48', productName: crafted.name, logoUrl: crafted.logo });
    await page.goto(`${base}?${query}#${fragment}`);
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    // The layout shows up with the session's theme, so by now the brand is final.
    expect(await page.getByText(crafted.name).count()).toBe(0);
    expect(await page.locator('.brand-name').textContent()).toBe('Acme Hooks');
    expect(await page.locator('img.logo').getAttribute('src')).toBe(logo);
    expect(await page.locator('img.logo').getAttribute('alt')).toBe('Acme Hooks');
    expect(await page.locator(`img[src="${crafted.logo}"]`).count()).toBe(0);
    expect(await page.title()).toBe('Acme Hooks · Webhooks');
    const look = await page.evaluate(() => ({
      primary: document.documentElement.style.getPropertyValue('--primary'),
      theme: document.documentElement.dataset.theme,
      bg: getComputedStyle(document.documentElement).backgroundColor,
    }));
    expect(look).toEqual({ primary: '#e11d48', theme: 'dark', bg: 'rgb(15, 17, 21)' });
    expect(logoLoads).toBeGreaterThan(0);
    await shot(page, 'portal-dark-branded');
    // Keyboard only: Tab reaches "Add endpoint", Enter opens the form.
    await page.keyboard.press('Tab');
    let focused = '';
    for (let i = 0; i < 12 && focused !== 'Add endpoint'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(() => document.activeElement?.textContent?.trim() ?? '');
    }
    expect(focused).toBe('Add endpoint');
    await page.keyboard.press('Enter');
    await page.getByLabel('Endpoint URL').waitFor();
    // A reload keeps the link's colour and dark mode for this tab; a name or logo an older version kept there is dropped.
    expect(JSON.parse(await page.evaluate(() => sessionStorage.getItem('herald.portal.theme') ?? 'null'))).toEqual({ primaryColor: '#e11d48', darkMode: true });
    await page.evaluate((c) => sessionStorage.setItem('herald.portal.theme', JSON.stringify({ primaryColor: '#e11d48', darkMode: true, productName: c.name, logoUrl: c.logo })), crafted);
    await page.goto(base);
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    expect(await page.getByText(crafted.name).count()).toBe(0);
    expect(await page.locator('.brand-name').textContent()).toBe('Acme Hooks');
    expect(await page.locator(`img[src="${crafted.logo}"]`).count()).toBe(0);
    expect(await page.locator('img.logo').getAttribute('src')).toBe(logo);
    expect(await page.evaluate(() => [document.documentElement.style.getPropertyValue('--primary'), document.documentElement.dataset.theme])).toEqual(['#e11d48', 'dark']);
    expect(external).toEqual([]); // never a request to the crafted logo (nor anywhere else)
    await context.close();
    await t.api('PATCH', `/v1/apps/${app}`, { portal: null });
  }, 30_000);

});
