import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addChannels, channelProblem, filterText, parseFilter, splitChannels, withoutPath } from '../../ui/src/utils/filters.js';
import type { TestHerald } from '../helpers/herald.js';
import { Receiver } from '../helpers/receiver.js';
import { hasChromium, launch, openPage, shot } from './browser.js';
import { portalLink, seedCatalogue, startUiHerald } from './herald.js';

const BIG = { amount: 150_000, currency: 'EUR', customer: { plan: 'enterprise' } };
const SMALL = { amount: 1500, currency: 'EUR', customer: { plan: 'free' } };

/** Types into a box key by key, as a person does, replacing what it held. */
async function typeInto(page: Page, label: string, text: string): Promise<void> {
  const box = page.getByLabel(label, { exact: true });
  await box.click();
  await box.press('ControlOrMeta+a');
  await box.press('Backspace');
  await box.pressSequentially(text, { delay: 5 });
}

/** The endpoint form's filter editor and the endpoint page's "why didn't it get this event?", in the portal. */
describe.skipIf(!hasChromium)('payload filters and channels in the dashboard', () => {
  let t: TestHerald;
  let browser: Browser;
  let receiver: Receiver;
  let app: string;

  beforeAll(async () => {
    [t, browser, receiver] = await Promise.all([startUiHerald(), launch(), new Receiver().start()]);
    app = (await t.api('POST', '/v1/apps', { name: 'Acme Inc', uid: 'acme' })).body.id;
    await seedCatalogue(t);
    const type = await t.api('POST', '/v1/event-types', { name: 'payment.succeeded', description: 'A payment went through', examples: [BIG, SMALL] });
    expect(type.status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await receiver?.stop();
    await t?.close();
  });

  it('a customer writes a filter, sees it checked and tried on examples, saves it with channels, and edits it', async () => {
    const { page, context, dialogs, external, errors } = await openPage(browser, t.url);
    await page.goto(await portalLink(t, app));
    await page.getByRole('link', { name: 'Add endpoint' }).first().click();
    await page.getByLabel('Endpoint URL').fill(`${receiver.url}/payments`);
    await page.getByLabel('Every event type').uncheck();
    await page.getByRole('checkbox', { name: 'payment.succeeded', exact: true }).check();
    await page.locator('summary', { hasText: 'Filter and channels' }).click();

    // Not JSON yet: said at once, without the server.
    await typeInto(page, 'Filter (JSON)', '{"data.amount": ');
    await page.getByText(/^Not valid JSON/).waitFor();
    // JSON, but a filter that can't run: the server's message, and where (a JSON pointer).
    await page.getByLabel('Filter (JSON)').pressSequentially('{"$gte": true}}', { delay: 5 });
    const status = page.locator('#f-filter-status');
    await status.getByText('/filter/data.amount/$gte', { exact: true }).waitFor();
    await expect.poll(() => status.textContent()).toBe('At /filter/data.amount/$gte$gte compares with a number or a string');
    expect(await page.getByLabel('Filter (JSON)').getAttribute('aria-invalid')).toBe('true');

    // Fixed: valid, and tried on the subscribed type's first example (150,000), which matches.
    await typeInto(page, 'Filter (JSON)', '{"data.amount": {"$gte": 100000}}');
    await status.getByText('Valid filter.').waitFor();
    expect(await page.getByLabel('Filter (JSON)').getAttribute('aria-invalid')).toBe('false');
    const tryOn = page.getByLabel('Event to try');
    expect(await tryOn.locator('option').allTextContents()).toEqual([
      'payment.succeeded: example 1', 'payment.succeeded: example 2', 'An envelope of your own (paste it below)',
    ]); // only the subscribed type's examples (not person.created's)
    expect(await page.getByLabel('Event envelope (JSON)').inputValue()).toContain('"amount": 150000');
    const verdict = page.locator('.filter-verdict');
    await expect.poll(() => verdict.textContent()).toBe('Matches');

    // The second example (1,500) does not, and says why.
    await tryOn.selectOption({ label: 'payment.succeeded: example 2' });
    await expect.poll(() => verdict.locator('.match-bad p').first().textContent()).toBe('Does not match: data.amount $gte 100000 does not hold for [1500]');
    await verdict.getByText('/filter/data.amount/$gte').waitFor();

    // An envelope of their own, pasted.
    await tryOn.selectOption({ label: 'An envelope of your own (paste it below)' });
    expect(await page.getByLabel('Event envelope (JSON)').inputValue()).toBe('');
    await page.getByLabel('Event envelope (JSON)').fill('{"type": "payment.succeeded", "data": {"amount": 99999.5}}');
    await expect.poll(() => verdict.textContent()).toBe('Does not match: data.amount $gte 100000 does not hold for [99999.5]At /filter/data.amount/$gte');
    await page.getByLabel('Event envelope (JSON)').fill('{"type": "payment.succeeded", "data": {"amount": 250000}}');
    await expect.poll(() => verdict.textContent()).toBe('Matches');
    await tryOn.selectOption({ label: 'payment.succeeded: example 2' });
    await expect.poll(() => verdict.textContent()).toMatch(/^Does not match/);

    // Channels: typed, comma-separated; a bad name is refused where it was typed.
    const channels = page.getByLabel('Channels (optional, at most 100)');
    await channels.pressSequentially('team_42, eu-west,', { delay: 5 });
    await page.getByRole('button', { name: 'Remove channel team_42' }).waitFor();
    await page.getByRole('button', { name: 'Remove channel eu-west' }).waitFor();
    await channels.pressSequentially('no/slash', { delay: 5 });
    await channels.press('Enter');
    await page.getByText('"no/slash" is not a channel name: use letters, digits and _ . : - (at most 128).').waitFor();
    expect(await channels.inputValue()).toBe('no/slash');
    await channels.fill('');
    await page.locator('details', { has: page.locator('.filter-editor') }).evaluate((el) => el.scrollIntoView({ block: 'start' }));
    await shot(page, 'portal-filter-editor');

    await page.getByRole('button', { name: 'Create endpoint' }).click();
    await page.getByText('Endpoint created.').waitFor();
    const ep = /\/endpoints\/([^/]+)$/.exec(new URL(page.url()).pathname)![1];
    const stored = await t.api('GET', `/v1/apps/${app}/endpoints/${ep}`);
    expect(stored.body).toMatchObject({ events: ['payment.succeeded'], filter: { 'data.amount': { $gte: 100000 } }, channels: ['team_42', 'eu-west'] });

    // Read back after a reload: the filter as JSON, the channels.
    await page.reload();
    const panel = page.getByRole('region', { name: 'Filter, channels and transform' });
    await expect.poll(() => panel.getByLabel('Filter', { exact: true }).textContent()).toBe(JSON.stringify({ 'data.amount': { $gte: 100000 } }, null, 2));
    expect(await panel.locator('code.chip').allTextContents()).toEqual(['team_42', 'eu-west']);

    // Edit: the form opens with them; one channel out, one in; a filter the server refuses is shown beside it.
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await expect.poll(() => page.getByLabel('Filter (JSON)').inputValue()).toContain('"$gte": 100000');
    await page.getByRole('button', { name: 'Remove channel eu-west' }).click();
    await page.getByLabel('Channels (optional, at most 100)').pressSequentially('team_43', { delay: 5 });
    await page.getByLabel('Channels (optional, at most 100)').press('Enter');
    await typeInto(page, 'Filter (JSON)', '{"$bogus": 1}');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByText('Check the filter above.').waitFor();
    await status.getByText('/filter/$bogus', { exact: true }).waitFor();
    await expect.poll(() => status.textContent()).toMatch(/^At \/filter\/\$bogusunknown operator \$bogus; operators are \$eq/);
    expect(new URL(page.url()).pathname).toMatch(/\/edit$/);
    expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep}`)).body.filter).toEqual({ 'data.amount': { $gte: 100000 } });

    await typeInto(page, 'Filter (JSON)', '{"data.amount": {"$gte": 100000}, "data.currency": "EUR"}');
    await status.getByText('Valid filter.').waitFor();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('heading', { name: 'Filter, channels and transform' }).waitFor();
    await expect.poll(() => panel.getByLabel('Filter', { exact: true }).textContent()).toContain('"data.currency": "EUR"');
    expect(await panel.locator('code.chip').allTextContents()).toEqual(['team_42', 'team_43']);
    expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep}`)).body).toMatchObject({
      filter: { 'data.amount': { $gte: 100000 }, 'data.currency': 'EUR' }, channels: ['team_42', 'team_43'],
    });

    // Emptied, the filter and channels are removed (sent as null).
    await page.getByRole('link', { name: 'Edit', exact: true }).click();
    await expect.poll(() => page.getByLabel('Filter (JSON)').inputValue()).toContain('EUR');
    await typeInto(page, 'Filter (JSON)', '');
    await page.getByText('No filter: the endpoint gets every event of the types above.').waitFor();
    await page.getByRole('button', { name: 'Remove channel team_43' }).click();
    await page.getByRole('button', { name: 'Remove channel team_42' }).click();
    await page.getByRole('button', { name: 'Save changes' }).click();
    await panel.getByText('None: it gets every event of its types').waitFor();
    await panel.getByText('Not limited by channels').waitFor();
    expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep}`)).body).toMatchObject({ filter: null, channels: null });

    expect(dialogs).toEqual([]);
    expect(external).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  }, 60_000);

  it("\"why didn't it get this event?\" names the condition that failed, for an event that didn't match", async () => {
    const made = await t.api('POST', `/v1/apps/${app}/endpoints`, {
      url: `${receiver.url}/big`, description: 'Big payments', events: ['payment.*'], filter: { 'data.amount': { $gte: 100000 } },
    });
    expect(made.status).toBe(201);
    const ep = made.body.id as string;
    const small = (await t.api('POST', `/v1/apps/${app}/events`, { type: 'payment.succeeded', data: SMALL })).body;
    const big = (await t.api('POST', `/v1/apps/${app}/events`, { type: 'payment.succeeded', data: BIG })).body;
    const person = (await t.api('POST', `/v1/apps/${app}/events`, { type: 'person.created', data: { name: 'Ada' } })).body;
    // The premise: the small one was not fanned out to it, the big one was.
    expect((await t.api('GET', `/v1/apps/${app}/events/${small.id}`)).body.endpointIds).not.toContain(ep);
    expect((await t.api('GET', `/v1/apps/${app}/events/${big.id}`)).body.endpointIds).toContain(ep);

    const { page, context, errors } = await openPage(browser, t.url);
    await page.goto(await portalLink(t, app));
    await page.getByRole('link', { name: `${receiver.url}/big` }).click();
    const why = page.locator('form', { has: page.getByRole('heading', { name: "Why didn't it get this event?" }) });
    const answer = why.getByRole('status');
    const ask = async (id: string) => {
      await why.getByLabel('Event id').fill(id);
      await why.getByRole('button', { name: 'Check event' }).click();
    };

    await ask(small.id);
    await expect.poll(() => answer.locator('.match-bad p').first().textContent()).toBe('Does not match: data.amount $gte 100000 does not hold for [1500]');
    await answer.getByText('/filter/data.amount/$gte').waitFor();

    await ask(big.id);
    await answer.getByText('Matches', { exact: true }).waitFor();
    await answer.getByRole('link', { name: 'See its deliveries of this event' }).waitFor();

    await ask(person.id);
    await expect.poll(() => answer.locator('.match-bad p').first().textContent()).toBe("Does not match: the endpoint is not subscribed to 'person.created'");
    await answer.getByText('/events').waitFor();

    await ask('evt_nope');
    await answer.getByText("event 'evt_nope' not found").waitFor();
    expect(errors).toEqual([]);
    await context.close();
  }, 45_000);

  it('a view-only customer sees the filter and channels, can ask why, and has nothing to change them with', async () => {
    const made = await t.api('POST', `/v1/apps/${app}/endpoints`, {
      url: `${receiver.url}/view`, description: 'EU team', events: ['payment.*'], filter: { 'data.currency': 'EUR' }, channels: ['team_42'],
    });
    const ep = made.body.id as string;
    const usd = (await t.api('POST', `/v1/apps/${app}/events`, { type: 'payment.succeeded', data: { amount: 5, currency: 'USD' }, channels: ['team_42'] })).body;

    const { page, context, errors } = await openPage(browser, t.url);
    await page.goto(await portalLink(t, app, { capabilities: ['view'] }));
    await page.getByRole('link', { name: `${receiver.url}/view` }).click();
    const panel = page.getByRole('region', { name: 'Filter, channels and transform' });
    await expect.poll(() => panel.getByLabel('Filter', { exact: true }).textContent()).toBe(JSON.stringify({ 'data.currency': 'EUR' }, null, 2));
    expect(await panel.locator('code.chip').allTextContents()).toEqual(['team_42']);
    // Reading: allowed; the answer comes back.
    await panel.getByLabel('Event id').fill(usd.id);
    await panel.getByRole('button', { name: 'Check event' }).click();
    await expect.poll(() => panel.locator('.match-bad p').first().textContent()).toBe('Does not match: data.currency $eq "EUR" does not hold for ["USD"]');
    // Changing: nothing to do it with.
    expect(await page.getByRole('link', { name: 'Edit', exact: true }).count()).toBe(0);
    expect(await page.locator('textarea').count()).toBe(0);
    expect(await page.getByRole('button', { name: /^Remove channel/ }).count()).toBe(0);
    // Nor by typing the edit address.
    await page.goto(`${t.url}/portal/endpoints/${ep}/edit`);
    await page.getByText("You don't have permission to change endpoints.").waitFor();
    expect(await page.getByLabel('Filter (JSON)').count()).toBe(0);
    expect(await page.getByLabel('Channels (optional, at most 100)').count()).toBe(0);
    // And the server refuses it too.
    const status = await page.evaluate(async ({ path }) => (await fetch(path, {
      method: 'PATCH', headers: { 'x-herald-session': 'portal', 'content-type': 'application/json' }, body: JSON.stringify({ filter: null }),
    })).status, { path: `/v1/apps/${app}/endpoints/${ep}` });
    expect([401, 403]).toContain(status);
    expect((await t.api('GET', `/v1/apps/${app}/endpoints/${ep}`)).body.filter).toEqual({ 'data.currency': 'EUR' });
    expect(errors).toEqual([]);
    await context.close();
  }, 30_000);
});

describe('the filter editor\'s text as the API\'s filter and channels', () => {
  it('reads the filter box', () => {
    expect(parseFilter('')).toEqual({ filter: null });
    expect(parseFilter('  {}  ')).toEqual({ filter: null });
    expect(parseFilter('{"data.x": 1}')).toEqual({ filter: { 'data.x': 1 } });
    expect(parseFilter('[1]')).toEqual({ problem: 'A filter is a JSON object, like {"data.amount": {"$gte": 100}}.' });
    expect(parseFilter('{"a":')).toMatchObject({ problem: expect.stringMatching(/^Not valid JSON: /) });
    expect(filterText(null)).toBe('');
    expect(filterText({ a: 1 })).toBe('{\n  "a": 1\n}');
  });

  it('reads the channels box', () => {
    expect(splitChannels(' team_42, eu-west  a:b,,')).toEqual(['team_42', 'eu-west', 'a:b']);
    expect(addChannels(['a'], ['b', 'a'])).toEqual(['a', 'b']);
    expect(channelProblem(['a', 'b.c'])).toBeUndefined();
    expect(channelProblem(['ok', 'no/slash'])).toMatch(/"no\/slash" is not a channel name/);
    expect(channelProblem(Array.from({ length: 101 }, (_, i) => `c${i}`))).toBe('At most 100 channels.');
    expect(channelProblem(Array.from({ length: 100 }, (_, i) => `c${i}`))).toBeUndefined();
    expect(channelProblem(['x'.repeat(129)])).toMatch(/is not a channel name/);
  });

  it('shows a server message without the pointer it starts with', () => {
    expect(withoutPath('/filter/a/$gte: $gte compares', '/filter/a/$gte')).toBe('$gte compares');
    expect(withoutPath('something else', '/filter/a')).toBe('something else');
  });
});
