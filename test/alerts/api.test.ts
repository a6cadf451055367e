import { beforeAll, describe, expect, it } from 'vitest';
import type { TestHerald } from '../helpers/herald.js';
import { fixtures } from '../helpers/fixtures.js';
import { heraldTargets } from '../helpers/postgres.js';
import type { Receiver } from '../helpers/receiver.js';

/** The alert-rule routes: validation in the error shape, webhook channels' endpoints, portal sessions' reach. */
const f = fixtures();
const targets = heraldTargets(f.cleanup);

for (const target of targets) {
  describe(`alert rule API on ${target.name}`, () => {
    let t: TestHerald;
    let receiver: Receiver;
    let app: any;
    let other: any;
    let ep: any;
    let otherEp: any;
    const slack = () => ({ type: 'slack', url: `${receiver.url}/slack` });

    beforeAll(async () => {
      receiver = await f.receiver();
      t = await f.herald({ ...target.env(), HERALD_SMTP_URL: 'smtp://u:p@127.0.0.1:1' });
      app = (await t.api('POST', '/v1/apps', { name: 'Acme', uid: 'acme' })).body;
      other = (await t.api('POST', '/v1/apps', { name: 'Other', uid: 'other' })).body;
      ep = (await t.api('POST', '/v1/apps/acme/endpoints', { url: `${receiver.url}/a` })).body;
      otherEp = (await t.api('POST', '/v1/apps/other/endpoints', { url: `${receiver.url}/o` })).body;
    });

    it.each([
      ['an op that never fires for the metric', { condition: { metric: 'success_rate', op: '>', threshold: 95 } }, 422, 'invalid_alert_rule'],
      ['a rate above 100', { condition: { metric: 'success_rate', threshold: 101 } }, 422, 'invalid_alert_rule'],
      ['no threshold', { condition: { metric: 'queue_depth' } }, 422, 'invalid_alert_rule'],
      ['a window on a metric without one', { condition: { metric: 'consecutive_failures', threshold: 3, windowSeconds: 60 } }, 422, 'invalid_alert_rule'],
      ['a window over an hour', { condition: { metric: 'failed_deliveries', threshold: 3, windowSeconds: 3601 } }, 400, 'validation_failed'],
      ['an unknown metric', { condition: { metric: 'latency', threshold: 3 } }, 400, 'validation_failed'],
      ['a negative threshold', { condition: { metric: 'failed_deliveries', threshold: -1 } }, 400, 'validation_failed'],
      ['no channel', { channels: [] }, 400, 'validation_failed'],
      ['eleven channels', { channels: Array(11).fill(null).map((_, i) => ({ type: 'slack', url: `https://hooks.example.com/${i}` })) }, 400, 'validation_failed'],
      ['an unknown channel type', { channels: [{ type: 'sms', to: '+1555' }] }, 400, 'validation_failed'],
      ['an address that is none', { channels: [{ type: 'email', to: ['not an address'] }] }, 400, 'validation_failed'],
      ['an address that adds a header', { channels: [{ type: 'email', to: ['a@b.com\r\nBcc: x@y.com'] }] }, 400, 'validation_failed'],
      ['a URL that is none', { channels: [{ type: 'slack', url: 'not a url' }] }, 422, 'invalid_endpoint_url'],
      ['a URL with credentials', { channels: [{ type: 'webhook', url: 'https://u:p@hooks.example.com/x' }] }, 422, 'invalid_endpoint_url'],
      ['an endpoint without its app', { endpointId: 'ep_x' }, 422, 'invalid_alert_rule'],
      ['an endpoint of another app', { appId: 'acme', endpointId: 'ep_01HZZZZZZZZZZZZZZZZZZZZZZZ' }, 404, 'not_found'],
      ['a source and an app', { sourceId: 'src_x', appId: 'acme', condition: { metric: 'source_rejections', threshold: 1 } }, 422, 'invalid_alert_rule'],
      ['a source that does not exist', { sourceId: 'src_x', condition: { metric: 'source_rejections', threshold: 1 } }, 404, 'not_found'],
      ['source rejections of an app', { appId: 'acme', condition: { metric: 'source_rejections', threshold: 1 } }, 422, 'invalid_alert_rule'],
      ['the alerts app itself', { appId: 'app_herald_alerts' }, 422, 'invalid_alert_rule'],
      ['an unknown property', { severity: 'high' }, 400, 'validation_failed'],
      ['repeats every second', { repeatSeconds: 1 }, 400, 'validation_failed'],
    ])('refuses %s', async (_what, patch, status, code) => {
      // The alerts app exists once a webhook channel was made; make sure the case above is about it.
      if ((patch as any).appId === 'app_herald_alerts') await t.api('POST', '/v1/alert-rules', { name: 'w', condition: { metric: 'endpoint_disabled' }, channels: [{ type: 'webhook', url: `${receiver.url}/w` }] });
      const res = await t.api('POST', '/v1/alert-rules', { name: 'x', condition: { metric: 'failed_deliveries', threshold: 10 }, channels: [slack()], ...patch });
      expect(res.status, JSON.stringify(res.body)).toBe(status);
      expect(res.body.error.code).toBe(code);
      expect(res.body.error.message).toEqual(expect.any(String));
    });

    it('the app route implies the app and takes only its own endpoints; another app\'s rule is not found there', async () => {
      const mine = await t.api('POST', '/v1/apps/acme/alert-rules', { name: 'mine', endpointId: ep.id, condition: { metric: 'consecutive_failures', threshold: 5 }, channels: [slack()] });
      expect(mine.status).toBe(201);
      expect(mine.body).toMatchObject({ appId: app.id, endpointId: ep.id, sourceId: null, condition: { op: '>', threshold: 5 } });
      const foreign = await t.api('POST', '/v1/apps/acme/alert-rules', { name: 'x', endpointId: otherEp.id, condition: { metric: 'consecutive_failures', threshold: 5 }, channels: [slack()] });
      expect(foreign.status).toBe(404);
      const theirs = (await t.api('POST', '/v1/apps/other/alert-rules', { name: 'theirs', condition: { metric: 'endpoint_disabled' }, channels: [slack()] })).body;
      expect((await t.api('GET', `/v1/apps/acme/alert-rules/${theirs.id}`)).status).toBe(404);
      expect((await t.api('DELETE', `/v1/apps/acme/alert-rules/${theirs.id}`)).status).toBe(404);
      expect((await t.api('GET', '/v1/apps/acme/alert-rules')).body.data.map((r: any) => r.id)).toEqual([mine.body.id]);
      expect((await t.api('GET', `/v1/alert-rules/${theirs.id}`)).body.appId).toBe(other.id);
      expect((await t.api('POST', '/v1/apps/acme/alert-rules', { name: 'x', sourceId: 'src_1', condition: { metric: 'endpoint_disabled' }, channels: [slack()] })).status).toBe(400);
    });

    it('webhook channels: an endpoint each, kept with its secret across a PATCH with the same URL, deleted with the channel or the rule', async () => {
      const created = (await t.api('POST', '/v1/alert-rules', {
        name: 'hooks', condition: { metric: 'endpoint_disabled' },
        channels: [{ type: 'webhook', url: `${receiver.url}/one` }, { type: 'webhook', url: `${receiver.url}/two` }],
      })).body;
      const [one, two] = created.channels;
      expect(one.secret).toMatch(/^whsec_/);
      const epOne = (await t.api('GET', `/v1/apps/app_herald_alerts/endpoints/${one.endpointId}`)).body;
      expect(epOne).toMatchObject({ url: `${receiver.url}/one`, events: ['alert.firing', 'alert.resolved'] });
      const patched = await t.api('PATCH', `/v1/alert-rules/${created.id}`, { channels: [{ type: 'webhook', url: `${receiver.url}/one` }, slack()] });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      expect(patched.body.channels[0]).toEqual({ type: 'webhook', url: `${receiver.url}/one`, endpointId: one.endpointId, appId: 'app_herald_alerts' });
      expect((await t.api('GET', `/v1/apps/app_herald_alerts/endpoints/${one.endpointId}/secret`)).body.secret).toBe(one.secret);
      expect((await t.api('GET', `/v1/apps/app_herald_alerts/endpoints/${two.endpointId}`)).status).toBe(404);
      const foreign = await t.api('PATCH', `/v1/alert-rules/${created.id}`, { channels: [{ type: 'webhook', url: `${receiver.url}/x`, endpointId: ep.id }] });
      expect(foreign.status).toBe(422);
      expect((await t.api('DELETE', `/v1/alert-rules/${created.id}`)).status).toBe(204);
      expect((await t.api('GET', `/v1/apps/app_herald_alerts/endpoints/${one.endpointId}`)).status).toBe(404);
      expect((await t.api('GET', `/v1/alert-rules/${created.id}`)).status).toBe(404);
    });

    it('a changed condition or a disabled rule starts from ok; deleting the endpoint deletes its rules', async () => {
      const doomed = (await t.api('POST', '/v1/apps/acme/endpoints', { url: `${receiver.url}/d` })).body;
      const rule = (await t.api('POST', '/v1/apps/acme/alert-rules', { name: 'd', endpointId: doomed.id, condition: { metric: 'consecutive_failures', threshold: 5 }, channels: [slack()] })).body;
      const patched = (await t.api('PATCH', `/v1/apps/acme/alert-rules/${rule.id}`, { condition: { metric: 'consecutive_failures', threshold: 7 }, enabled: false })).body;
      expect(patched).toMatchObject({ state: 'ok', enabled: false, condition: { threshold: 7 } });
      expect((await t.api('PATCH', `/v1/apps/acme/alert-rules/${rule.id}`, { condition: { metric: 'source_rejections', threshold: 1 } })).status).toBe(422);
      await t.api('DELETE', `/v1/apps/acme/endpoints/${doomed.id}`);
      expect((await t.api('GET', `/v1/alert-rules/${rule.id}`)).status).toBe(404);
    });

    it('portal sessions: view lists and reads their app\'s rules, manage_endpoints writes them, nothing of other apps or the operator routes', async () => {
      const session = async (capabilities: string[]) => {
        const { token } = (await t.api('POST', '/v1/apps/acme/portal-access', { capabilities })).body;
        const res = await fetch(`${t.url}/v1/sessions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ portalToken: token }) });
        const cookie = res.headers.get('set-cookie')!.split(';')[0];
        const { csrfToken } = await res.json();
        return async (method: string, path: string, body?: unknown) => {
          const r = await fetch(t.url + path, {
            method, body: body === undefined ? undefined : JSON.stringify(body),
            headers: { cookie, 'x-herald-session': 'portal', 'x-herald-csrf': csrfToken, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
          });
          return { status: r.status, body: await r.json().catch(() => null) };
        };
      };
      const viewer = await session(['view']);
      expect((await viewer('GET', '/v1/apps/acme/alert-rules')).status).toBe(200);
      expect((await viewer('POST', '/v1/apps/acme/alert-rules', { name: 'x', condition: { metric: 'endpoint_disabled' }, channels: [slack()] })).status).toBe(403);
      const manager = await session(['manage_endpoints']);
      // Mail to any address a customer names would go out from the operator's server: email is the operator's.
      const mail = await manager('POST', '/v1/apps/acme/alert-rules', { name: 'by portal', endpointId: ep.id, condition: { metric: 'endpoint_disabled' }, channels: [{ type: 'email', to: ['anyone@elsewhere.test'] }] });
      expect([mail.status, mail.body.error.code, mail.body.error.details]).toEqual([403, 'forbidden', { channel: 'email' }]);
      const made = await manager('POST', '/v1/apps/acme/alert-rules', { name: 'by portal', endpointId: ep.id, condition: { metric: 'endpoint_disabled' }, channels: [slack()] });
      expect(made.status, JSON.stringify(made.body)).toBe(201);
      expect(made.body).toMatchObject({ appId: app.id, endpointId: ep.id, channels: [{ type: 'slack' }] });
      expect((await manager('PATCH', `/v1/apps/acme/alert-rules/${made.body.id}`, { channels: [{ type: 'email', to: ['x@elsewhere.test'] }] })).status).toBe(403);
      // The operator may, on the same app-scoped route, with the API key.
      expect((await t.api('PATCH', `/v1/apps/acme/alert-rules/${made.body.id}`, { channels: [{ type: 'email', to: ['ops@acme.test'] }] })).status).toBe(200);
      expect((await viewer('GET', `/v1/apps/acme/alert-rules/${made.body.id}/history`)).body).toEqual({ data: [] });
      expect((await manager('GET', '/v1/apps/other/alert-rules')).status).toBe(403);
      expect((await manager('GET', '/v1/alert-rules')).status).toBe(403);
      expect((await manager('DELETE', `/v1/apps/acme/alert-rules/${made.body.id}`)).status).toBe(204);

      // The operator's rule on this app: the portal sees it without its channels, and can't change it.
      const secretSlack = `${receiver.url}/slack/T000/B000/SECRET`;
      const ops = await t.api('POST', '/v1/apps/acme/alert-rules', { name: 'ops', condition: { metric: 'endpoint_disabled' }, channels: [{ type: 'slack', url: secretSlack }] });
      expect(ops.body).toMatchObject({ createdBy: 'operator', channels: [{ type: 'slack', url: secretSlack }] });
      const seen = await viewer('GET', `/v1/apps/acme/alert-rules/${ops.body.id}`);
      expect(seen.body).toMatchObject({ createdBy: 'operator', channels: [] });
      expect(JSON.stringify((await viewer('GET', '/v1/apps/acme/alert-rules')).body)).not.toContain('SECRET');
      for (const [method, body] of [['PATCH', { name: 'renamed' }], ['DELETE', undefined]] as const) {
        const res = await manager(method, `/v1/apps/acme/alert-rules/${ops.body.id}`, body);
        expect([res.status, res.body.error.code], method).toEqual([403, 'forbidden']);
      }
      expect((await t.api('GET', `/v1/apps/acme/alert-rules/${ops.body.id}`)).body.name).toBe('ops');

      // What a customer sets makes Herald send on its own: reminders no faster than 5 min, 20 rules an app.
      const rule = (i: number, repeatSeconds?: number) => ({ name: `r${i}`, condition: { metric: 'endpoint_disabled' }, channels: [slack()], ...(repeatSeconds ? { repeatSeconds } : {}) });
      expect((await manager('POST', '/v1/apps/acme/alert-rules', rule(0, 10))).status).toBe(422);
      for (let i = 0; i < 20; i++) expect((await manager('POST', '/v1/apps/acme/alert-rules', rule(i, 300))).status).toBe(201);
      const over = await manager('POST', '/v1/apps/acme/alert-rules', rule(20));
      expect([over.status, over.body.error.code]).toEqual([409, 'conflict']);
      expect((await t.api('POST', '/v1/apps/acme/alert-rules', rule(21))).status).toBe(201);
    });
  });
}

describe('alert channels outside dev mode', () => {
  it('take URLs under the endpoints\' address policy, and email only with HERALD_SMTP_URL', async () => {
    const t = await f.herald({ HERALD_DEV: '0' });
    const post = (channels: unknown[]) => t.api('POST', '/v1/alert-rules', { name: 'x', condition: { metric: 'endpoint_disabled' }, channels });
    for (const url of ['http://127.0.0.1:9000/x', 'https://169.254.169.254/latest', 'https://10.0.0.1/hook', 'http://hooks.slack.com/services/x']) {
      const res = await post([{ type: 'slack', url }]);
      expect(res.status, url).toBe(422);
      expect(res.body.error.code).toBe('invalid_endpoint_url');
    }
    expect((await post([{ type: 'webhook', url: 'https://[::1]/x' }])).status).toBe(422);
    const email = await post([{ type: 'email', to: ['ops@acme.test'] }]);
    expect(email.status).toBe(422);
    expect(email.body.error.message).toContain('HERALD_SMTP_URL');
    expect((await post([{ type: 'slack', url: 'https://hooks.slack.com/services/T000/B000/XXX' }])).status).toBe(201);
  });
});
