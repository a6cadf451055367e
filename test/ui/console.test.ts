import { createHmac } from 'node:crypto';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHerald } from '../helpers/herald.js';
import { Receiver } from '../helpers/receiver.js';
import { hasChromium, horizontalOverflow, launch, openPage, shot } from './browser.js';
import { API_KEY, startUiHerald } from './herald.js';

const SECRET = 'gh-secret';
const github = (body: string, delivery: string, secret = SECRET) => ({
  'content-type': 'application/json',
  'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`,
  'x-github-event': 'push',
  'x-github-delivery': delivery,
});

/** The operator console: the people running Herald, signed in with its API key. */
describe.skipIf(!hasChromium)('operator console', () => {
  let t: TestHerald;
  let browser: Browser;
  let receiver: Receiver;
  let source: { id: string; name: string };

  beforeAll(async () => {
    [t, browser, receiver] = await Promise.all([startUiHerald(), launch(), new Receiver().start()]);
    await t.api('POST', '/v1/apps', { name: 'Acme Inc', uid: 'acme' });
    await t.api('POST', '/v1/apps', { name: 'Globex', uid: 'globex' });
    const s = await t.api('POST', '/v1/sources', {
      name: 'GitHub pushes', verification: { scheme: 'github', secrets: [SECRET] }, destinations: [{ url: `${receiver.url}/github` }],
    });
    expect(s.status).toBe(201);
    source = s.body;
    const post = (body: string, headers: Record<string, string>) => fetch(`${t.url}/in/${source.id}`, { method: 'POST', body, headers });
    const body = '{"ref":"refs/heads/main","commits":3}';
    expect((await post(body, github(body, 'd-1'))).status).toBe(202);
    expect((await post(body, github(body, 'd-1'))).status).toBe(200); // the same request again: a duplicate
    expect((await post('{"ref":"evil"}', github('{"ref":"evil"}', 'd-2', 'wrong-secret'))).status).toBe(401);
    await receiver.waitFor(1);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.stop();
    await t?.close();
  });

  it('an operator signs in with the API key and sees apps, sources and their request log', async () => {
    const { page, context, dialogs, external, errors } = await openPage(browser, t.url);
    await page.goto(`${t.url}/ui/`);
    await page.getByRole('heading', { name: 'Sign in to the console' }).waitFor();
    await page.getByLabel('API key').fill('not-the-key');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByText('That API key is not valid.').waitFor();
    await page.getByLabel('API key').fill(API_KEY);
    await shot(page, 'console-sign-in');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Apps' }).waitFor();
    await page.getByRole('link', { name: 'Acme Inc' }).waitFor();
    await page.getByRole('link', { name: 'Globex' }).waitFor();
    await shot(page, 'console-apps');

    // The key is kept nowhere in the page: not in storage, not in a readable cookie.
    const kept = await page.evaluate(() => JSON.stringify({ ...localStorage }) + JSON.stringify({ ...sessionStorage }) + document.cookie);
    expect(kept).not.toContain(API_KEY);

    // After a reload the session (cookie) holds, and changes still pass the CSRF check.
    await page.reload();
    await page.getByRole('button', { name: 'Create app' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create app' });
    await dialog.getByLabel('Name').fill('Initech');
    await dialog.getByRole('button', { name: 'Create app' }).click();
    await page.getByRole('heading', { name: 'Endpoints', exact: true }).waitFor();
    await page.getByText('No endpoints yet').waitFor();
    expect((await t.api('GET', '/v1/apps')).body.data.map((a: { name: string }) => a.name)).toContain('Initech');
    // A portal link for the app, to see what its customer sees; it opens the portal in another tab.
    await page.getByRole('button', { name: 'Customer portal link' }).click();
    const linkDialog = page.getByRole('dialog', { name: 'Customer portal link' });
    await linkDialog.getByLabel('Rotate signing secrets').uncheck();
    await linkDialog.getByRole('button', { name: 'Create link' }).click();
    const link = (await linkDialog.getByLabel('Portal link').textContent())!;
    expect(link).toMatch(/\/portal\/#token=/);
    const [tab] = await Promise.all([context.waitForEvent('page'), linkDialog.getByRole('link', { name: 'Open in a new tab' }).click()]);
    await tab.getByText('No endpoints yet').waitFor();
    expect(await tab.getByText('Initech').count()).toBeGreaterThan(0);
    await tab.close();
    await linkDialog.getByRole('button', { name: 'Close' }).first().click();

    await page.getByRole('link', { name: 'Sources' }).click();
    await page.getByRole('link', { name: 'GitHub pushes' }).click();
    await page.getByRole('heading', { name: 'Request log' }).waitFor();
    const rows = page.locator('li.log-row-req');
    await expect.poll(() => rows.count()).toBe(3);
    await rows.filter({ hasText: 'Rejected' }).first().waitFor();
    await rows.filter({ hasText: 'Duplicate' }).first().waitFor();
    const accepted = rows.filter({ hasText: 'Accepted' });
    await accepted.getByText('Delivered').waitFor();
    await expect.poll(() => rows.filter({ hasText: 'Rejected' }).textContent()).toMatch(/signature/i);
    // A request opens to its headers and body; Replay forwards it again.
    await accepted.getByRole('button', { name: /application\/json/ }).click();
    await accepted.getByText('refs/heads/main').waitFor();
    await shot(page, 'console-source');
    await accepted.getByRole('button', { name: /Replay request/ }).click();
    await accepted.getByText(/Replayed to 1 destination/).waitFor();
    await receiver.waitFor(2);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to the console' }).waitFor();
    await page.reload();
    await page.getByRole('heading', { name: 'Sign in to the console' }).waitFor();
    expect(dialogs).toEqual([]);
    expect(external).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it('an event carrying markup shows as text and runs nothing', async () => {
    const xss = '<img src=x onerror=alert(1)>';
    receiver.respond = () => ({ status: 200, headers: { 'content-type': 'text/html' }, body: '<script>alert(2)</script><img src=y onerror=alert(3)>' });
    const app = (await t.api('POST', '/v1/apps', { name: '<b onmouseover=alert(4)>Evil</b>' })).body.id;
    await t.api('POST', '/v1/event-types', { name: 'comment.posted', description: '<img src=z onerror=alert(5)>' });
    const ep = await t.api('POST', `/v1/apps/${app}/endpoints`, { url: `${receiver.url}/xss`, description: xss });
    const published = await t.api('POST', `/v1/apps/${app}/events`, { type: 'comment.posted', data: { html: xss } });
    expect(published.status).toBe(202);

    const { page, context, dialogs, external } = await openPage(browser, t.url);
    await page.goto(`${t.url}/ui/`);
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('link', { name: '<b onmouseover=alert(4)>Evil</b>' }).click();
    await page.getByText(xss).first().waitFor();
    await page.getByRole('link', { name: 'Delivery log' }).click();
    await page.locator('li.log-row', { hasText: 'comment.posted' }).getByText('Succeeded').waitFor({ timeout: 15_000 });
    await page.locator('li.log-row', { hasText: 'comment.posted' }).getByRole('link').click();
    await page.getByRole('heading', { name: 'Payload' }).waitFor();
    await page.getByText('"html": "<img src=x onerror=alert(1)>"').waitFor();
    await page.getByText('<script>alert(2)</script><img src=y onerror=alert(3)>').waitFor();
    expect(await page.locator('main img, main script, main b').count()).toBe(0);
    await page.getByRole('link', { name: 'Event catalogue' }).click();
    await page.getByText('<img src=z onerror=alert(5)>').waitFor();
    expect(await page.locator('main img').count()).toBe(0);
    await page.goto(`${t.url}/ui/apps/${app}/endpoints/${ep.body.id}`);
    await page.getByRole('heading', { name: 'Signing secret' }).waitFor();
    expect(await page.locator('main img').count()).toBe(0);
    await page.waitForTimeout(300);
    expect(dialogs).toEqual([]);
    expect(external).toEqual([]);
    await context.close();
  }, 45_000);

  it('the console pages have the security headers, and deep links load the app', async () => {
    for (const path of ['/ui/', '/ui/apps/acme/deliveries', '/portal/', '/portal/endpoints/ep_x']) {
      const res = await fetch(t.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get('content-type')).toContain('text/html');
      expect(res.headers.get('cache-control')).toBe('no-store');
      const csp = res.headers.get('content-security-policy')!;
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
      expect(res.headers.get('referrer-policy')).toBe('no-referrer');
      const html = await res.text();
      expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/); // no inline script
      expect(html).not.toMatch(/<style|style=/);
    }
    const html = await (await fetch(`${t.url}/ui/`)).text();
    const asset = /src="(\/ui\/assets\/[^"]+\.js)"/.exec(html)![1];
    const res = await fetch(t.url + asset, { headers: { 'accept-encoding': 'gzip' } });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toContain('immutable');
    expect(res.headers.get('content-encoding')).toBe('gzip');
    expect((await fetch(`${t.url}/ui/assets/nope.js`)).status).toBe(404);
  });

  it('at 360 px wide the console\'s delivery log has no horizontal scroll', async () => {
    const { page, context } = await openPage(browser, t.url, { width: 360, height: 740 });
    await page.goto(`${t.url}/ui/`);
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Apps' }).waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await page.goto(`${t.url}/ui/sources/${source.id}`);
    await page.getByRole('heading', { name: 'Request log' }).waitFor();
    await page.locator('li.log-row-req').first().waitFor();
    expect(await horizontalOverflow(page)).toBe(0);
    await context.close();
  }, 30_000);
});
