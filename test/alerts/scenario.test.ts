import { createHmac } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, type TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import type { Receiver } from '../helpers/receiver.js';
import { smtpServer, switchable, type Mail } from './helpers.js';

/**
 * Every condition against real peers on loopback: a receiver that fails (slowly, 502) and
 * then recovers, an SMTP server with AUTH, a Slack-format receiver and a webhook receiver that
 * verifies signatures. Each rule must fire exactly once and resolve exactly once, on every
 * channel, on SQLite and PostgreSQL.
 */
const f = fixtures();
const targets = heraldTargets(f.cleanup);
const PUBLIC = 'https://herald.example.com';
const GH_SECRET = 'gh-secret';

for (const target of targets) {
  describe(`alerts on ${target.name}`, () => {
    let t: TestHerald;
    let smtp: Awaited<ReturnType<typeof smtpServer>>;
    let recv: Awaited<ReturnType<typeof switchable>>;
    let slack: Receiver;
    let hooks: Receiver;
    let app: any;
    let ep: any;
    let ep2: any;
    let source: any;
    let ticking: NodeJS.Timeout | null = null;
    const rules: Record<string, any> = {};
    const channels = () => [
      { type: 'email', to: ['ops@acme.test', 'oncall@acme.test'] },
      { type: 'slack', url: `${slack.url}/slack` },
      { type: 'webhook', url: `${hooks.url}/alerts` },
    ];

    beforeAll(async () => {
      smtp = await smtpServer();
      f.cleanup(() => smtp.close());
      recv = await switchable(200);
      f.cleanup(() => recv.close());
      slack = await f.receiver();
      hooks = await f.receiver();
      t = await f.herald({
        ...target.env(),
        HERALD_ALERT_INTERVAL_MS: '200',
        HERALD_SMTP_URL: `smtp://alerts:s3cret@127.0.0.1:${smtp.port}`,
        HERALD_ALERT_FROM: 'Herald <alerts@herald.test>',
        HERALD_PUBLIC_URL: PUBLIC,
        // Failures keep flowing through phase 1 instead of being held back by an open circuit.
        HERALD_CIRCUIT_THRESHOLD: '1000000',
      });
      app = (await t.api('POST', '/v1/apps', { name: 'Acme', uid: 'acme' })).body;
      ep = (await t.api('POST', `/v1/apps/acme/endpoints`, { url: `${recv.url}/e`, events: ['tick'], retrySchedule: Array(20).fill(1) })).body;
      ep2 = (await t.api('POST', `/v1/apps/acme/endpoints`, {
        url: `${recv.url}/e2`, events: ['once'], retrySchedule: [], disableAfterFailures: 3, disableAfterSeconds: 0,
      })).body;
      const healthy = await f.receiver();
      source = (await t.api('POST', '/v1/sources', {
        name: 'GitHub', verification: { scheme: 'github', secrets: [GH_SECRET] }, destinations: [{ url: `${healthy.url}/gh` }],
      })).body;
      expect(source.id).toBeDefined();

      const add = async (key: string, path: string, body: Record<string, unknown>) => {
        const res = await t.api('POST', path, { name: key, channels: channels(), ...body });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        rules[key] = res.body;
      };
      await add('failed', '/v1/alert-rules', { condition: { metric: 'failed_deliveries', op: '>', threshold: 3, windowSeconds: 2 } });
      await add('rate', '/v1/apps/acme/alert-rules', { endpointId: ep.id, condition: { metric: 'success_rate', op: '<', threshold: 50, windowSeconds: 2, minAttempts: 4 } });
      await add('slow', '/v1/apps/acme/alert-rules', { endpointId: ep.id, condition: { metric: 'response_time_p95', op: '>', threshold: 150, windowSeconds: 2 } });
      await add('streak', '/v1/apps/acme/alert-rules', { endpointId: ep.id, condition: { metric: 'consecutive_failures', op: '>=', threshold: 3 } });
      await add('queue', '/v1/apps/acme/alert-rules', { endpointId: ep.id, condition: { metric: 'queue_depth', op: '>', threshold: 2, olderThanSeconds: 1 } });
      await add('disabled', '/v1/apps/acme/alert-rules', { condition: { metric: 'endpoint_disabled' } });
      await add('rejections', '/v1/alert-rules', { sourceId: source.id, condition: { metric: 'source_rejections', op: '>', threshold: 2, windowSeconds: 2 } });
    }, 30_000);

    afterAll(() => {
      if (ticking) clearInterval(ticking);
    });

    const mailsOf = (name: string, label: 'Firing' | 'Resolved') => smtp.mails.filter((m) => m.subject === `[Herald] ${label}: ${name}`);
    const slackOf = (name: string, label: 'Firing' | 'Resolved') =>
      slack.requests.map((r) => JSON.parse(r.body)).filter((b) => b.blocks[0].text.text.includes(`${label}: ${name}`));
    const eventsOf = (rule: any, type: string) => {
      const secret = rule.channels.find((c: any) => c.type === 'webhook').secret as string;
      const wh = new Webhook(secret.slice('whsec_'.length));
      return hooks.requests.flatMap((r) => {
        try {
          return [wh.verify(r.body, r.headers as Record<string, string>) as any];
        } catch {
          return []; // another rule's channel: another secret
        }
      }).filter((e) => e.type === type && e.data.ruleId === rule.id);
    };
    const state = async (key: string) => (await t.api('GET', `/v1/alert-rules/${rules[key].id}`)).body.state;

    it('creates the rules in state ok, webhook channels with an endpoint of the alerts app and its secret (once)', async () => {
      for (const rule of Object.values(rules)) {
        expect(rule.state).toBe('ok');
        expect(rule.lastTransitionAt).toBeNull();
        const wh = rule.channels.find((c: any) => c.type === 'webhook');
        expect(wh).toMatchObject({ url: `${hooks.url}/alerts`, appId: 'app_herald_alerts', secret: expect.stringMatching(/^whsec_/) });
        const again = (await t.api('GET', `/v1/alert-rules/${rule.id}`)).body;
        expect(again.channels.find((c: any) => c.type === 'webhook').secret).toBeUndefined();
        expect(again.channels[1]).toEqual({ type: 'slack', url: `${slack.url}/slack` });
      }
      expect(rules.rate).toMatchObject({ appId: app.id, endpointId: ep.id, condition: { metric: 'success_rate', op: '<', threshold: 50, windowSeconds: 2, minAttempts: 4, olderThanSeconds: null } });
      expect(rules.disabled.condition).toMatchObject({ op: '>=', threshold: 1, windowSeconds: null });
      // The internal app isn't among the apps.
      expect((await t.api('GET', '/v1/apps')).body.data.map((a: any) => a.id)).toEqual([app.id]);
    });

    it('fires each rule once while the receiver fails, on every channel, with what happened and a link', async () => {
      ticking = setInterval(() => void t.api('POST', '/v1/apps/acme/events', { type: 'tick', data: {} }), 100);
      for (let i = 0; i < 3; i++) await t.api('POST', '/v1/apps/acme/events', { type: 'once', data: { i } });
      const body = '{"action":"opened"}';
      const ingest = source.ingestUrl.replace(PUBLIC, t.url);
      for (let i = 0; i < 3; i++) {
        const res = await fetch(ingest, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' }, body });
        expect(res.status).toBe(401);
      }
      const ok = await fetch(ingest, {
        method: 'POST', body,
        headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', GH_SECRET).update(body).digest('hex')}` },
      });
      expect(ok.status).toBe(202);

      await eventually(async () => Object.keys(rules).every((k) => mailsOf(k, 'Firing').length === 1), 20_000, 100);
      // endpoint_disabled: ep2 was auto-disabled after 3 failures.
      const disabled = (await t.api('GET', `/v1/apps/acme/endpoints/${ep2.id}`)).body;
      expect(disabled).toMatchObject({ status: 'disabled', disabledReason: expect.any(String) });

      const rate = mailsOf('rate', 'Firing')[0] as Mail;
      expect(rate.to).toEqual(['ops@acme.test', 'oncall@acme.test']);
      expect(rate.from).toBe('alerts@herald.test');
      expect(rate.text).toMatch(new RegExp(`^Endpoint ${recv.url}/e \\(app Acme\\) success rate 0 % over the last 2 s \\(\\d+ attempts, \\d+ failed: \\d+ × HTTP 502\\)\\.`));
      expect(rate.text).toContain(`Open the endpoint: ${PUBLIC}/ui/#/apps/${app.id}/endpoints/${ep.id}`);
      expect(rate.text).toContain('Check that the receiver is up');
      expect(mailsOf('slow', 'Firing')[0].text).toMatch(/p95 response time \d+ ms over the last 2 s/);
      expect(mailsOf('streak', 'Firing')[0].text).toMatch(/\d+ consecutive failed attempts/);
      expect(mailsOf('queue', 'Firing')[0].text).toMatch(/\d+ deliveries waiting, the oldest for \d+ s/);
      expect(mailsOf('disabled', 'Firing')[0].text).toContain(`Endpoint ${recv.url}/e2 (app Acme) was disabled`);
      expect(mailsOf('rejections', 'Firing')[0].text).toMatch(/^Source GitHub refused 3 requests over the last 2 s/);
      expect(mailsOf('failed', 'Firing')[0].text).toMatch(/failed delivery attempts over the last 2 s/);

      await eventually(async () => Object.values(rules).every((r) => slackOf(r.name, 'Firing').length === 1 && eventsOf(r, 'alert.firing').length === 1), 10_000, 100);
      const s = slackOf('rate', 'Firing')[0];
      expect(s.text).toMatch(/^Firing: Endpoint .* success rate 0 %/);
      expect(s.blocks.map((b: any) => b.type)).toEqual(['header', 'section', 'section', 'context']);
      expect(s.blocks[3].elements[0].text).toContain(`<${PUBLIC}/ui/#/apps/${app.id}/endpoints/${ep.id}|Open the endpoint in Herald>`);
      const [event] = eventsOf(rules.rate, 'alert.firing');
      expect(event.data).toMatchObject({ ruleId: rules.rate.id, state: 'firing', endpointId: ep.id, value: 0, condition: { metric: 'success_rate' } });
      // The log of webhook channels: deliveries of the alerts app.
      const log = (await t.api('GET', `/v1/apps/app_herald_alerts/deliveries?status=success`)).body.data;
      expect(log.length).toBeGreaterThanOrEqual(Object.keys(rules).length);
      // All still firing but the rejections, whose 2-second window may have passed already.
      for (const key of Object.keys(rules).filter((k) => k !== 'rejections')) expect(await state(key), key).toBe('firing');
    }, 40_000);

    it('resolves each rule once when the receiver is healthy again (and the endpoint enabled), and says nothing more', async () => {
      recv.mode = 'ok';
      expect((await t.api('PATCH', `/v1/apps/acme/endpoints/${ep2.id}`, { status: 'active' })).status).toBe(200);
      await eventually(async () => Object.keys(rules).every((k) => mailsOf(k, 'Resolved').length === 1), 25_000, 100);
      clearInterval(ticking!);
      ticking = null;
      await eventually(async () => Object.values(rules).every((r) => slackOf(r.name, 'Resolved').length === 1 && eventsOf(r, 'alert.resolved').length === 1), 10_000, 100);
      const resolved = /^Resolved: Endpoint .* success rate ([\d.]+) % over the last 2 s/.exec(mailsOf('rate', 'Resolved')[0].text);
      expect(Number(resolved?.[1])).toBeGreaterThanOrEqual(50);
      // Several more rounds: nothing fires again, nothing is sent twice.
      await new Promise((r) => setTimeout(r, 1500));
      for (const [key, rule] of Object.entries(rules)) {
        expect([mailsOf(key, 'Firing').length, mailsOf(key, 'Resolved').length], key).toEqual([1, 1]);
        expect([slackOf(key, 'Firing').length, slackOf(key, 'Resolved').length], key).toEqual([1, 1]);
        expect([eventsOf(rule, 'alert.firing').length, eventsOf(rule, 'alert.resolved').length], key).toEqual([1, 1]);
        const got = (await t.api('GET', `/v1/alert-rules/${rule.id}`)).body;
        expect(got.state, key).toBe('ok');
        expect(got.lastTransitionAt).not.toBeNull();
        const history = (await t.api('GET', `/v1/alert-rules/${rule.id}/history`)).body.data;
        expect(history.map((h: any) => h.kind), key).toEqual(['resolved', 'firing']);
        expect(history[1].threshold).toBe(rule.condition.threshold);
      }
      expect(smtp.mails).toHaveLength(2 * Object.keys(rules).length);
      const history = (await t.api('GET', `/v1/apps/acme/alert-rules/${rules.rate.id}/history`)).body.data;
      expect(history[1].figures).toMatchObject({ windowSeconds: 2, succeeded: 0 });
      expect(history[0].figures.succeeded).toBeGreaterThan(0);
    }, 60_000);
  });
}
