import { pino } from 'pino';
import { beforeAll, describe, expect, it } from 'vitest';
import { AlertEngine } from '../../src/alerts/engine.js';
import { eventually, type TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import type { Receiver } from '../helpers/receiver.js';
import { createSource } from '../inbound/helpers.js';
import { Provider } from '../inbound/provider.js';
import { smtpServer } from './helpers.js';

/**
 * poll_failures against real peers on loopback: providers whose changes API answers 500 (and
 * 503), then 200; runs driven by POST /v1/sources/{id}/poll; an SMTP server and a Slack-format
 * receiver. Rounds are driven by calling the engine over Herald's store (Herald's own engine
 * is set to an hour, so no round runs but these), so "not yet" is as exact as "now".
 */
const f = fixtures();
const targets = heraldTargets(f.cleanup);
const PUBLIC = 'https://herald.example.com';

async function provider(): Promise<Provider> {
  const p = await new Provider().start();
  f.cleanup(() => p.stop());
  return p;
}

const pollSource = (name: string, p: Provider, receiver: Receiver) => ({
  name, verification: { scheme: 'none' }, dedup: { key: 'body:$.id' },
  destinations: [{ url: `${receiver.url}/hook` }],
  poll: { url: `${p.url}/changes`, intervalSeconds: 3600, items: '$.results', key: '$.id', cursor: { param: 'after', from: '$.next' } },
});

for (const target of targets) {
  describe(`poll_failures alerts on ${target.name}`, () => {
    let t: TestHerald;
    let smtp: Awaited<ReturnType<typeof smtpServer>>;
    let slack: Receiver;
    let receiver: Receiver;
    let pages: Provider;
    let billing: Provider;
    let engine: AlertEngine;
    const logged: string[] = [];
    const src: Record<string, any> = {};
    const rules: Record<string, any> = {};

    beforeAll(async () => {
      smtp = await smtpServer();
      f.cleanup(() => smtp.close());
      slack = await f.receiver();
      receiver = await f.receiver();
      [pages, billing] = [await provider(), await provider()];
      const healthy = await provider();
      pages.fail = () => ({ status: 500 });
      billing.fail = () => ({ status: 503 });
      t = await f.herald({
        ...target.env(),
        HERALD_ALERT_INTERVAL_MS: '3600000',
        HERALD_SMTP_URL: `smtp://alerts:s3cret@127.0.0.1:${smtp.port}`,
        HERALD_PUBLIC_URL: PUBLIC,
      });
      src.pages = await createSource(t, pollSource('Pages', pages, receiver));
      src.billing = await createSource(t, pollSource('Billing', billing, receiver));
      src.healthy = await createSource(t, pollSource('Healthy', healthy, receiver));
      src.webhooks = await createSource(t, { name: 'Webhooks only', verification: { scheme: 'none' }, destinations: [{ url: `${receiver.url}/hook` }] });
      // A source that has never polled is due at once: the worker's first run of each.
      for (const s of [src.pages, src.billing, src.healthy]) {
        await eventually(async () => (await t.api('GET', `/v1/sources/${s.id}`)).body.lastPollResult, 10_000);
      }
      const errors = pino({ level: 'error' }, { write: (line: string) => void logged.push(line) });
      engine = new AlertEngine({ store: t.herald.store, logger: errors, intervalMs: 3_600_000, baseUrl: () => PUBLIC, onQueued: () => {} });

      const channels = [{ type: 'email', to: ['ops@acme.test'] }, { type: 'slack', url: `${slack.url}/slack` }];
      const add = async (key: string, body: Record<string, unknown>) => {
        const res = await t.api('POST', '/v1/alert-rules', { name: key, channels, ...body });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        rules[key] = res.body;
      };
      // "Page me when a source's polling has failed 3 times in a row", and any source failing twice.
      await add('pages', { sourceId: src.pages.id, condition: { metric: 'poll_failures', op: '>=', threshold: 3 } });
      await add('any', { condition: { metric: 'poll_failures', threshold: 1 } });
    }, 30_000);

    const pollNow = async (s: any) => {
      const res = await t.api('POST', `/v1/sources/${s.id}/poll`, {});
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body;
    };
    const rule = async (key: string) => (await t.api('GET', `/v1/alert-rules/${rules[key].id}`)).body;
    const mailsOf = (key: string, label: 'Firing' | 'Resolved') => smtp.mails.filter((m) => m.subject === `[Herald] ${label}: ${key}`);
    const slackOf = (key: string, label: 'Firing' | 'Resolved') =>
      slack.requests.map((r) => JSON.parse(r.body)).filter((b) => b.blocks[0].text.text.includes(`${label}: ${key}`));

    it('fires after the Nth failed run in a row, naming the source, its last error and the next poll', async () => {
      expect(rules.pages).toMatchObject({ sourceId: src.pages.id, appId: null, endpointId: null, state: 'ok', condition: { metric: 'poll_failures', op: '>=', threshold: 3, windowSeconds: null } });
      expect(rules.any.condition).toMatchObject({ op: '>', threshold: 1 });
      // One failed run each (the worker's first): nothing holds yet.
      expect((await t.api('GET', `/v1/sources/${src.pages.id}`)).body.lastPollResult).toMatchObject({ error: { code: 'http_error', status: 500 }, failures: 1 });
      expect(await engine.runOnce()).toBe(0);

      expect(await pollNow(src.pages)).toMatchObject({ error: { code: 'http_error', status: 500 }, failures: 2 });
      expect(await engine.runOnce()).toBe(1);
      expect([(await rule('any')).state, (await rule('pages')).state]).toEqual(['firing', 'ok']);

      expect(await pollNow(src.pages)).toMatchObject({ failures: 3 });
      expect(await engine.runOnce()).toBe(1);
      const fired = await rule('pages');
      expect(fired).toMatchObject({ state: 'firing', lastValue: 3 });
      // Firing stays firing without a word more.
      expect(await engine.runOnce()).toBe(0);

      await eventually(async () => mailsOf('pages', 'Firing').length === 1 && mailsOf('any', 'Firing').length === 1, 10_000, 50);
      const nextPollAt = (await t.api('GET', `/v1/sources/${src.pages.id}`)).body.nextPollAt;
      expect(nextPollAt).toEqual(expect.any(String));
      const mail = mailsOf('pages', 'Firing')[0];
      expect(mail.to).toEqual(['ops@acme.test']);
      expect(mail.text.split('\n')[0]).toMatch(new RegExp(
        `^Source Pages polling failed 3 times in a row \\(last error HTTP 500, http_error: the provider answered 500; next poll due at ${nextPollAt.replace(/\./g, '\\.')}, in [\\d.]+ h\\)\\.$`,
      ));
      expect(mail.text).toContain(`Open the source: ${PUBLIC}/ui/#/sources/${src.pages.id}`);
      expect(mail.text).toContain('Polling the provider\'s changes API keeps failing');
      expect(mail.text).not.toContain('Billing');

      // Every polling source: fired when Pages had failed twice; Billing (503, once) named after it; the healthy one and the one without polling not at all.
      const any = mailsOf('any', 'Firing')[0].text.split('\n')[0];
      expect(any).toMatch(/^2 sources are failing to poll: Pages 2 times in a row \(last error HTTP 500, http_error: the provider answered 500; next poll due at [^)]+\), Billing once \(last error HTTP 503, unavailable: the provider answered 503; next poll due at [^)]+\)\.$/);
      expect(any).not.toMatch(/Healthy|Webhooks only/);

      await eventually(async () => slackOf('pages', 'Firing').length === 1, 10_000, 50);
      expect(slackOf('pages', 'Firing')[0].text).toMatch(/^Firing: Source Pages polling failed 3 times in a row \(last error HTTP 500/);
      const history = (await t.api('GET', `/v1/alert-rules/${rules.any.id}/history`)).body.data;
      expect(history[0]).toMatchObject({ kind: 'firing', value: 2, threshold: 1, figures: { pollFailures: 2, sources: 3, failing: 2 } });
      expect(history[0].figures.worst.map((w: any) => [w.id, w.failures, w.error.status])).toEqual([[src.pages.id, 2, 500], [src.billing.id, 1, 503]]);
    }, 40_000);

    it('resolves once after runs that succeed, and says nothing more', async () => {
      pages.fail = () => null;
      pages.change('home');
      expect(await pollNow(src.pages)).toMatchObject({ error: null, failures: 0, new: 1 });
      // Pages is fine: the source's rule resolves; Billing's one failure doesn't hold "> 1" either.
      expect(await engine.runOnce()).toBe(2);
      expect([(await rule('pages')).state, (await rule('any')).state]).toEqual(['ok', 'ok']);
      expect(await engine.runOnce()).toBe(0);
      // Billing failing again (twice now) fires the every-source rule again; its recovery resolves it.
      expect(await pollNow(src.billing)).toMatchObject({ error: { status: 503 }, failures: 2 });
      expect(await engine.runOnce()).toBe(1);
      billing.fail = () => null;
      expect(await pollNow(src.billing)).toMatchObject({ error: null, failures: 0 });
      expect(await engine.runOnce()).toBe(1);

      await eventually(async () => mailsOf('pages', 'Resolved').length === 1 && mailsOf('any', 'Resolved').length === 2, 10_000, 50);
      expect(mailsOf('pages', 'Resolved')[0].text.split('\n')[0]).toBe('Resolved: Source Pages polls without errors again.');
      expect(mailsOf('any', 'Firing')[1].text.split('\n')[0]).toMatch(/^Source Billing polling failed 2 times in a row \(last error HTTP 503/);
      // A resolution says how things stand: Billing's one failure, then nothing failing.
      expect(mailsOf('any', 'Resolved').map((m) => m.text.split('\n')[0])).toEqual([
        expect.stringMatching(/^Resolved: Source Billing polling failed once \(last error HTTP 503, unavailable: the provider answered 503; next poll due at /),
        'Resolved: Polling sources poll without errors again.',
      ]);
      expect((await t.api('GET', `/v1/alert-rules/${rules.pages.id}/history`)).body.data.map((h: any) => h.kind)).toEqual(['resolved', 'firing']);
      expect((await t.api('GET', `/v1/alert-rules/${rules.any.id}/history`)).body.data.map((h: any) => h.kind)).toEqual(['resolved', 'firing', 'resolved', 'firing']);
      expect(await engine.runOnce()).toBe(0);
      expect(smtp.mails).toHaveLength(6);
      expect(logged).toEqual([]);
    }, 40_000);
  });

  describe(`poll_failures rules on ${target.name}: what is refused`, () => {
    let t: TestHerald;
    let slackUrl: string;
    let app: any;
    let ep: any;
    let polling: any;
    let webhooksOnly: any;

    beforeAll(async () => {
      const r = await f.receiver();
      slackUrl = `${r.url}/slack`;
      const p = await provider();
      t = await f.herald({ ...target.env(), HERALD_ALERT_INTERVAL_MS: '3600000' });
      app = (await t.api('POST', '/v1/apps', { name: 'Acme', uid: 'acme' })).body;
      ep = (await t.api('POST', '/v1/apps/acme/endpoints', { url: `${r.url}/a` })).body;
      polling = await createSource(t, pollSource('Pages', p, r));
      webhooksOnly = await createSource(t, { name: 'Webhooks only', verification: { scheme: 'none' }, destinations: [{ url: `${r.url}/hook` }] });
    });

    const body = (patch: Record<string, unknown> = {}, condition: Record<string, unknown> = {}) => ({
      name: 'p', channels: [{ type: 'slack', url: slackUrl }], condition: { metric: 'poll_failures', threshold: 3, ...condition }, ...patch,
    });

    it.each([
      ['an endpoint', () => ({ appId: 'acme', endpointId: ep.id }), {}, 422, 'invalid_alert_rule'],
      ['an endpoint without its app', () => ({ endpointId: ep.id }), {}, 422, 'invalid_alert_rule'],
      ['an app', () => ({ appId: 'acme' }), {}, 422, 'invalid_alert_rule'],
      ['a source and an app', () => ({ sourceId: polling.id, appId: 'acme' }), {}, 422, 'invalid_alert_rule'],
      ['a source that does not poll', () => ({ sourceId: webhooksOnly.id }), {}, 422, 'invalid_alert_rule'],
      ['a source that does not exist', () => ({ sourceId: 'src_01HZZZZZZZZZZZZZZZZZZZZZZZ' }), {}, 404, 'not_found'],
      ['a window', () => ({}), { windowSeconds: 60 }, 422, 'invalid_alert_rule'],
      ['minAttempts', () => ({}), { minAttempts: 3 }, 422, 'invalid_alert_rule'],
      ['olderThanSeconds', () => ({}), { olderThanSeconds: 3 }, 422, 'invalid_alert_rule'],
      ['an op that never fires', () => ({}), { op: '<' }, 422, 'invalid_alert_rule'],
      ['a fraction of a run', () => ({}), { threshold: 2.5 }, 422, 'invalid_alert_rule'],
      ['a condition that always holds', () => ({}), { op: '>=', threshold: 0 }, 422, 'invalid_alert_rule'],
      ['no threshold', () => ({}), { threshold: undefined }, 422, 'invalid_alert_rule'],
      ['a negative threshold', () => ({}), { threshold: -1 }, 400, 'validation_failed'],
    ])('refuses %s', async (_what, scope, condition, status, code) => {
      const res = await t.api('POST', '/v1/alert-rules', body(scope(), condition));
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toEqual(expect.any(String));
    });

    it('takes a polling source or every source on /v1/alert-rules, never an app\'s route, not even with the API key', async () => {
      const one = await t.api('POST', '/v1/alert-rules', body({ sourceId: polling.id }));
      expect(one.status, JSON.stringify(one.body)).toBe(201);
      expect(one.body).toMatchObject({ sourceId: polling.id, appId: null, endpointId: null, condition: { metric: 'poll_failures', op: '>', threshold: 3, windowSeconds: null, minAttempts: null, olderThanSeconds: null } });
      const all = await t.api('POST', '/v1/alert-rules', body());
      expect([all.status, all.body.sourceId, all.body.appId]).toEqual([201, null, null]);
      const onApp = await t.api('POST', '/v1/apps/acme/alert-rules', body());
      expect([onApp.status, onApp.body.error.code]).toEqual([422, 'invalid_alert_rule']);
      expect(onApp.body.error.message).toContain('poll_failures watches sources');
      const withSource = await t.api('POST', '/v1/apps/acme/alert-rules', body({ sourceId: polling.id }));
      expect([withSource.status, withSource.body.error.code]).toEqual([400, 'validation_failed']);
      // Deleting the source deletes its rules.
      const doomed = await createSource(t, pollSource('Doomed', await provider(), await f.receiver()));
      const rule = (await t.api('POST', '/v1/alert-rules', body({ sourceId: doomed.id }))).body;
      expect((await t.api('DELETE', `/v1/sources/${doomed.id}`)).status).toBe(204);
      expect((await t.api('GET', `/v1/alert-rules/${rule.id}`)).status).toBe(404);
    });

    it('PATCH: poll_failures only where the scope is a source (that polls) or every source', async () => {
      const appRule = (await t.api('POST', '/v1/apps/acme/alert-rules', { name: 'a', condition: { metric: 'consecutive_failures', threshold: 3 }, channels: [{ type: 'slack', url: slackUrl }] })).body;
      expect((await t.api('PATCH', `/v1/alert-rules/${appRule.id}`, { condition: { metric: 'poll_failures', threshold: 3 } })).status).toBe(422);
      const everyApp = (await t.api('POST', '/v1/alert-rules', { name: 'e', condition: { metric: 'failed_deliveries', threshold: 3 }, channels: [{ type: 'slack', url: slackUrl }] })).body;
      expect((await t.api('PATCH', `/v1/alert-rules/${everyApp.id}`, { condition: { metric: 'poll_failures', threshold: 3 } })).status).toBe(422);
      const rejections = (id: string) => t.api('POST', '/v1/alert-rules', { name: 'r', sourceId: id, condition: { metric: 'source_rejections', threshold: 3 }, channels: [{ type: 'slack', url: slackUrl }] });
      const quiet = (await rejections(webhooksOnly.id)).body;
      const refused = await t.api('PATCH', `/v1/alert-rules/${quiet.id}`, { condition: { metric: 'poll_failures', threshold: 3 } });
      expect([refused.status, refused.body.error.code]).toEqual([422, 'invalid_alert_rule']);
      const watched = (await rejections(polling.id)).body;
      const changed = await t.api('PATCH', `/v1/alert-rules/${watched.id}`, { condition: { metric: 'poll_failures', op: '>=', threshold: 2 } });
      expect(changed.status, JSON.stringify(changed.body)).toBe(200);
      expect(changed.body).toMatchObject({ sourceId: polling.id, state: 'ok', condition: { metric: 'poll_failures', op: '>=', threshold: 2, windowSeconds: null } });
    });

    it('portal sessions can\'t set source metrics, as before', async () => {
      const { token } = (await t.api('POST', '/v1/apps/acme/portal-access', { capabilities: ['manage_endpoints'] })).body;
      const res = await fetch(`${t.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ portalToken: token }) });
      const cookie = res.headers.get('set-cookie')!.split(';')[0];
      const { csrfToken } = await res.json();
      const portal = async (method: string, path: string, b: unknown) => {
        const r = await fetch(t.url + path, {
          method, body: JSON.stringify(b),
          headers: { cookie, 'x-herald-session': 'portal', 'x-herald-csrf': csrfToken, 'content-type': 'application/json' },
        });
        return { status: r.status, body: await r.json() };
      };
      for (const metric of ['source_rejections', 'poll_failures']) {
        const made = await portal('POST', '/v1/apps/acme/alert-rules', body({}, { metric }));
        expect([made.status, made.body.error.code], metric).toEqual([422, 'invalid_alert_rule']);
        const sourced = await portal('POST', '/v1/apps/acme/alert-rules', body({ sourceId: polling.id }, { metric }));
        expect([sourced.status, sourced.body.error.code], metric).toEqual([400, 'validation_failed']);
        expect((await portal('POST', '/v1/alert-rules', body({ sourceId: polling.id }, { metric }))).status, metric).toBe(403);
      }
      const own = await portal('POST', '/v1/apps/acme/alert-rules', { name: 'mine', condition: { metric: 'endpoint_disabled' }, channels: [{ type: 'slack', url: slackUrl }] });
      expect(own.status, JSON.stringify(own.body)).toBe(201);
      const patched = await portal('PATCH', `/v1/apps/acme/alert-rules/${own.body.id}`, { condition: { metric: 'poll_failures', threshold: 3 } });
      expect([patched.status, patched.body.error.code]).toEqual([422, 'invalid_alert_rule']);
      expect(app.id).toEqual(expect.any(String));
    });

    it('is in the OpenAPI document', async () => {
      const doc = (await t.api('GET', '/openapi.json')).body;
      const text = JSON.stringify(doc);
      expect(text).toContain('"poll_failures"');
      expect(text).toContain('poll_failures: consecutive failed poll runs of a source');
    });
  });
}
