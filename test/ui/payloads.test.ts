import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestHerald } from '../helpers/herald.js';
import { Receiver } from '../helpers/receiver.js';
import { hasChromium, launch, openPage } from './browser.js';
import { API_KEY, startUiHerald } from './herald.js';

/** Issue 13's settings in the console: an app's payload shape, and an endpoint's transform tried before it is saved. */
describe.skipIf(!hasChromium)('payload shapes and transforms in the dashboard', () => {
  let t: TestHerald;
  let browser: Browser;
  let receiver: Receiver;
  let app: string;
  let ep: string;

  beforeAll(async () => {
    [t, browser, receiver] = await Promise.all([startUiHerald(), launch(), new Receiver().start()]);
    app = (await t.api('POST', '/v1/apps', { name: 'Twenty', uid: 'twenty' })).body.id;
    await t.api('POST', '/v1/event-types', { name: 'person.created', description: 'A person was added', examples: [{ id: 'per_1', name: 'Ada', email: 'ada@example.com' }] });
    ep = (await t.api('POST', `/v1/apps/${app}/endpoints`, { url: `${receiver.url}/people`, events: ['person.created'] })).body.id;
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.stop();
    await t?.close();
  });

  async function signIn(page: Page): Promise<void> {
    await page.goto(`${t.url}/ui/`);
    await page.getByLabel('API key').fill(API_KEY);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Apps', exact: true }).waitFor();
  }

  it("an operator gives the app Twenty's envelope, sees what receivers will get, and saves it", async () => {
    const { page, errors } = await openPage(browser, t.url);
    await signIn(page);
    await page.getByRole('link', { name: 'Twenty' }).click();
    await page.getByRole('button', { name: 'Payload shape' }).click();
    const dialog = page.getByRole('dialog', { name: 'Payload shape' });
    await dialog.getByLabel('Type field').fill('event');
    await dialog.getByLabel('Timestamp format').selectOption('unix');
    await dialog.getByLabel(/Include/).uncheck();
    await dialog.getByLabel(/Extra top-level fields/).fill('workspaceId');
    const preview = dialog.getByLabel('Example body');
    await expect.poll(() => preview.textContent()).toContain('"event": "person.created"');
    expect(await preview.textContent()).toContain('"timestamp": 1767225600');
    expect(await preview.textContent()).toContain('"workspaceId"');
    expect(await preview.textContent()).not.toContain('sequence');
    await dialog.getByRole('button', { name: 'Save shape' }).click();
    await dialog.getByText(/^Saved/).waitFor();
    expect((await t.api('GET', `/v1/apps/${app}`)).body.envelopeProfile).toEqual({
      fields: { id: 'id', type: 'event', timestamp: 'timestamp' }, timestampFormat: 'unix', sequence: false, extra: ['workspaceId'],
    });
    // A field name the server refuses is its 422, shown in the dialog.
    await dialog.getByLabel('Id field').fill('');
    await dialog.getByRole('button', { name: 'Save shape' }).click();
    await dialog.getByRole('alert').first().waitFor();
    expect((await t.api('GET', `/v1/apps/${app}`)).body.envelopeProfile.fields.id).toBe('id');
    await dialog.getByRole('button', { name: "Use Herald's envelope" }).click();
    await dialog.getByText(/^Back to Herald's envelope/).waitFor();
    expect((await t.api('GET', `/v1/apps/${app}`)).body.envelopeProfile).toBeNull();
    expect(errors).toEqual([]);
  });

  it('an operator writes a transform, tries it on the example before saving, sees a refused one beside the field, and saves', async () => {
    const { page, errors } = await openPage(browser, t.url);
    await signIn(page);
    await page.goto(`${t.url}/ui/apps/${app}/endpoints/${ep}/edit`);
    await page.getByRole('heading', { name: 'Edit endpoint' }).waitFor();
    await page.locator('summary', { hasText: 'Transform' }).click();
    const box = page.getByLabel('Transform (JavaScript)');
    await box.fill('function transform(webhook) {\n  webhook.payload = { who: webhook.payload.data.name };\n  webhook.headers["x-team"] = "crm";\n  return webhook;\n}');
    await page.getByRole('button', { name: 'Try the transform' }).click();
    const sent = page.getByRole('status', { name: 'What would be sent' });
    await sent.getByText(`${receiver.url}/people`).waitFor();
    await sent.getByText('x-team').waitFor();
    await expect.poll(() => sent.getByLabel('The body that would be sent').textContent()).toContain('"who": "Ada"');

    // One that skips, and one that throws: said plainly.
    await box.fill('function transform(webhook) { return null; }');
    await page.getByRole('button', { name: 'Try the transform' }).click();
    await page.getByText(/^Skipped:/).waitFor();
    await box.fill('function transform(webhook) { throw new Error("no thanks"); }');
    await page.getByRole('button', { name: 'Try the transform' }).click();
    await page.getByText(/no thanks/).waitFor();

    // A syntax error is refused on save, beside the field; nothing is saved.
    await box.fill('function transform(webhook) { return webhook');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.locator('#f-transform-status').waitFor();
    expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep}`)).body.transform).toBeNull();

    const good = 'function transform(webhook) { webhook.payload = { who: webhook.payload.data.name }; return webhook; }';
    await box.fill(good);
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Filter, channels and transform' }).waitFor();
    expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep}`)).body.transform).toBe(good);
    await page.getByLabel('Transform', { exact: true }).getByText('webhook.payload.data.name').waitFor();
    expect(errors).toEqual([]);
  });
});
